// Worker thread entry: hosts the onnxruntime session. onnxruntime-node's session.run occupies the
// calling thread for the whole inference (seconds for a large batch), which would starve the
// Kafka consumer's heartbeats if it ran on the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { PooledSession, type SessionConfig } from './pooled-session.ts';
import type { WorkerReply, WorkerRequest } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('inference-worker.ts must run in a worker thread');

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function describe(error: unknown): { message: string; stack?: string } {
  return error instanceof Error ? { message: error.message, stack: error.stack } : { message: String(error) };
}

const { config } = workerData as { config: SessionConfig };
const session = await PooledSession.create(config).catch((error: unknown) => {
  reply({ type: 'init-error', error: describe(error) });
  // Closing the port lets the thread exit on its own; the parent reports the error.
  port.close();
  return undefined;
});

if (session) {
  let queue: Promise<void> = Promise.resolve();
  reply({ type: 'ready', info: session.info });

  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'close') {
      void queue.then(() => session.close()).finally(() => port.close());
      return;
    }
    // Requests are handled one at a time in arrival order: each run already uses the session's
    // intra-op threads, so overlapping runs would only contend for the same cores.
    queue = queue.then(async () => {
      try {
        const vectors = await session.run(request.batch);
        reply({ type: 'result', id: request.id, vectors }, [vectors.buffer as ArrayBuffer]);
      } catch (error) {
        reply({ type: 'error', id: request.id, error: describe(error) });
      }
    });
  });
}
