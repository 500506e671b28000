// One onnxruntime session plus pooling: padded token ids in, sentence vectors out. Shared by the
// inference worker and the in-process backend, so both compute exactly the same thing.
import * as ort from 'onnxruntime-node';
import type { Pooling } from '../../../topology/models.ts';
import { UnavailableError } from '../../../topology/errors.ts';
import { poolInto } from './pooling.ts';

export interface SessionConfig {
  readonly onnxPath: string;
  readonly dimension: number;
  readonly pooling: Pooling;
  readonly normalize: boolean;
  readonly intraOpNumThreads?: number;
  readonly interOpNumThreads?: number;
  /** Let idle onnxruntime pool threads busy-wait for work (onnxruntime's default). */
  readonly allowSpinning?: boolean;
}

/** Row-major [batchSize, sequenceLength] ids and mask, padded to the longest sequence. */
export interface PaddedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly batchSize: number;
  readonly sequenceLength: number;
}

export interface SessionInfo {
  readonly inputNames: readonly string[];
  readonly outputName: string;
}

const SUPPORTED_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
const PREFERRED_OUTPUTS = ['last_hidden_state', 'token_embeddings'];

/** The onnxruntime options every encoder session uses (also the benchmark's bare session.run). */
export function sessionOptions(
  config: Omit<SessionConfig, 'onnxPath' | 'dimension' | 'pooling' | 'normalize'>,
): ort.InferenceSession.SessionOptions {
  const spin = config.allowSpinning ? '1' : '0';
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // Spinning pool threads burn the cores that the Kafka client and the other replicas need;
    // on a small machine they also delay the main thread's heartbeats.
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
  if (config.intraOpNumThreads !== undefined) options.intraOpNumThreads = config.intraOpNumThreads;
  if (config.interOpNumThreads !== undefined) options.interOpNumThreads = config.interOpNumThreads;
  return options;
}

export class PooledSession {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: SessionConfig,
    readonly info: SessionInfo,
  ) {}

  static async create(config: SessionConfig): Promise<PooledSession> {
    const options = sessionOptions(config);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(config.onnxPath, options);
    } catch (error) {
      throw new UnavailableError('encoder-failed', `could not load ONNX model ${config.onnxPath}`, { cause: error, retriable: false });
    }
    const unknown = session.inputNames.filter((name) => !SUPPORTED_INPUTS.has(name));
    if (!session.inputNames.includes('input_ids') || unknown.length > 0) {
      await session.release();
      throw new UnavailableError(
        'encoder-failed',
        `${config.onnxPath} declares inputs [${session.inputNames.join(', ')}]; expected input_ids with optional attention_mask and token_type_ids`,
        { retriable: false },
      );
    }
    const outputName =
      PREFERRED_OUTPUTS.find((name) => session.outputNames.includes(name)) ??
      (session.outputNames.length === 1 ? session.outputNames[0] : undefined);
    if (outputName === undefined) {
      await session.release();
      throw new UnavailableError(
        'encoder-failed',
        `${config.onnxPath}: cannot tell which of [${session.outputNames.join(', ')}] holds token embeddings`,
        { retriable: false },
      );
    }
    return new PooledSession(session, config, { inputNames: [...session.inputNames], outputName });
  }

  /** Returns the pooled vectors back to back: batchSize x dimension. */
  async run(batch: PaddedBatch): Promise<Float32Array> {
    const { batchSize, sequenceLength } = batch;
    const shape = [batchSize, sequenceLength];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.info.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', batch.inputIds, shape);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', batch.attentionMask, shape);
      else feeds[name] = new ort.Tensor('int64', new BigInt64Array(batchSize * sequenceLength), shape);
    }
    const results = await this.session.run(feeds, [this.info.outputName]);
    const output = results[this.info.outputName];
    if (!output || output.type !== 'float32' || output.dims.length !== 3) {
      throw new UnavailableError(
        'encoder-failed',
        `model output ${this.info.outputName} is not a float32 [batch, sequence, dimension] tensor`,
        { retriable: false },
      );
    }
    const [outBatch, outSequence, dimension] = output.dims as [number, number, number];
    if (outBatch !== batchSize || outSequence !== sequenceLength || dimension !== this.config.dimension) {
      throw new UnavailableError(
        'encoder-failed',
        `model output has shape [${output.dims.join(', ')}], expected [${batchSize}, ${sequenceLength}, ${this.config.dimension}]`,
        { retriable: false },
      );
    }
    // Pooled straight into the buffer the worker transfers back: no vector per row, no copy.
    return poolInto(
      { data: output.data as Float32Array, batchSize, sequenceLength, dimension },
      batch.attentionMask,
      this.config,
      new Float32Array(batchSize * dimension),
    );
  }

  /** Releases the onnxruntime session. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.session.release();
    return this.closing;
  }
}
