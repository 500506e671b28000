// Where the onnxruntime session runs. The worker backend is the default because session.run blocks
// its thread; the in-process one exists for tools that have no event loop to protect.
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../../topology/errors.ts';
import { PooledSession, type PaddedBatch, type SessionConfig, type SessionInfo } from './pooled-session.ts';
import type { SerializedError, WorkerReply, WorkerRequest } from './worker-protocol.ts';

export interface InferenceBackend {
  readonly info: SessionInfo;
  /** Pooled vectors, batchSize x dimension back to back. The batch's buffers may be transferred. */
  run(batch: PaddedBatch): Promise<Float32Array>;
  close(): Promise<void>;
}

export class InProcessBackend implements InferenceBackend {
  private closed = false;

  private constructor(private readonly session: PooledSession) {}

  static async start(config: SessionConfig): Promise<InProcessBackend> {
    return new InProcessBackend(await PooledSession.create(config));
  }

  get info(): SessionInfo {
    return this.session.info;
  }

  run(batch: PaddedBatch): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new UnavailableError('encoder-closed', 'encoder is closed', { retriable: false }));
    return this.session.run(batch);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.close();
  }
}

interface Pending {
  resolve: (vectors: Float32Array) => void;
  reject: (error: Error) => void;
}

// The worker's module sits beside this one, compiled (.js, dist/) or not (.ts, sources under tsx).
const WORKER_ENTRY = new URL(`./inference-worker${new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
  .href;

// Run from sources: Node 20 does not apply the parent's `--import tsx` hooks to worker threads (tsx registers itself
// only on the main thread there), so a worker that cannot load its .ts entry registers tsx and
// retries. Plain CommonJS, because this runs before any TypeScript loader exists in the thread.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  try {
    await import(workerData.entry);
  } catch (error) {
    if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !workerData.tsxApi) throw error;
    (await import(workerData.tsxApi)).register();
    // A new URL: the loader caches the failed attempt under the old one.
    await import(workerData.entry + '?tsx');
  }
})();
`;

/** tsx is a dev dependency: absent from an installed package, which runs compiled code anyway. */
function tsxApiUrl(): string | undefined {
  if (!WORKER_ENTRY.endsWith('.ts')) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

export class WorkerBackend implements InferenceBackend {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly info: SessionInfo,
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) =>
      this.fail(new UnavailableError('encoder-failed', 'inference worker crashed', { cause: error, retriable: false })),
    );
    worker.on('exit', (code) =>
      this.fail(new UnavailableError('encoder-closed', `inference worker exited (code ${code})`, { retriable: false })),
    );
    // An idle encoder must not keep the process alive; a busy one must.
    worker.unref();
  }

  static start(config: SessionConfig): Promise<WorkerBackend> {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { entry: WORKER_ENTRY, tsxApi: tsxApiUrl(), config },
      name: 'searchbus-onnx',
    });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        cleanup();
        reject(
          new UnavailableError('encoder-failed', `inference worker failed to start: ${error.message}`, { cause: error, retriable: false }),
        );
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new UnavailableError('encoder-failed', `inference worker exited during start-up (code ${code})`, { retriable: false }));
      };
      const onMessage = (reply: WorkerReply): void => {
        if (reply.type === 'ready') {
          cleanup();
          resolve(new WorkerBackend(worker, reply.info));
        } else if (reply.type === 'init-error') {
          cleanup();
          void worker.terminate();
          reject(new UnavailableError('encoder-failed', reply.error.message, { cause: revive(reply.error), retriable: false }));
        }
      };
      const cleanup = (): void => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
      };
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.on('message', onMessage);
    });
  }

  run(batch: PaddedBatch): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new UnavailableError('encoder-closed', 'encoder is closed', { retriable: false }));
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      const request: WorkerRequest = { type: 'run', id, batch };
      this.worker.postMessage(request, [batch.inputIds.buffer as ArrayBuffer, batch.attentionMask.buffer as ArrayBuffer]);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      // Keep the process alive until the worker has released the session.
      this.worker.ref();
      const request: WorkerRequest = { type: 'close' };
      this.worker.postMessage(request);
      // Let in-flight runs finish; the worker exits once it has released the session.
      await exited;
    })();
    return this.closing;
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.settled(reply.id);
    if (reply.type === 'result') pending.resolve(reply.vectors);
    else
      pending.reject(
        new UnavailableError('encoder-failed', `inference failed: ${reply.error.message}`, {
          cause: revive(reply.error),
          retriable: false,
        }),
      );
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, pending] of this.pending) {
      this.settled(id);
      pending.reject(this.failure);
    }
  }
}

function revive(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}
