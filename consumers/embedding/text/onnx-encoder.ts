// Text in, sentence vectors out, the way sentence-transformers computes them for the model named
// by a ModelSpec. Tokenization and batching happen here; inference runs in a worker thread by
// default so that a large batch never stalls the caller's event loop (Kafka heartbeats).
import type { ModelSpec } from '../../../topology/models.ts';
import { chunkTokens, DEFAULT_OVERLAP_TOKENS, validateChunkingOptions, type Chunk, type ChunkingOptions } from './chunker.ts';
import { ContractError, UnavailableError } from '../../../topology/errors.ts';
import { InProcessBackend, WorkerBackend, type InferenceBackend } from '../inference/inference-backend.ts';
import { LengthBatcher, longestTextsFirst } from './length-batcher.ts';
import type { PaddedBatch } from '../inference/pooled-session.ts';
import { WordPieceTokenizer } from './wordpiece-tokenizer.ts';

export interface ModelFilePaths {
  readonly onnxPath: string;
  readonly tokenizerPath: string;
}

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads; unset lets onnxruntime use every physical core. */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** Let idle onnxruntime threads busy-wait (onnxruntime's default); off by default here. */
  allowSpinning?: boolean;
  /** At most this many sequences per inference call. */
  batchSize?: number;
  /**
   * At most this many (padded) tokens per inference call. On CPU a single 256-token sequence
   * already saturates the matrix kernels, so long texts gain nothing from batching while short
   * ones (queries) still do; a token budget gives both.
   */
  maxBatchTokens?: number;
  /** Model input length including [CLS]/[SEP]; at most the model's maxTokens (the default). */
  maxTokens?: number;
  overlapTokens?: number;
  /** Run inference in a worker thread (default). In-process blocks the event loop during inference. */
  useWorker?: boolean;
}

/** Which instruction prefix of the model to prepend. Without one, the text is encoded as given. */
export type InputType = 'query' | 'document';

export interface EmbeddedChunk extends Chunk {
  readonly vector: Float32Array;
}

export interface OnnxEncoderConfig {
  readonly intraOpNumThreads: number | undefined;
  readonly interOpNumThreads: number | undefined;
  readonly allowSpinning: boolean;
  readonly batchSize: number;
  readonly maxBatchTokens: number;
  readonly maxTokens: number;
  readonly overlapTokens: number;
  readonly useWorker: boolean;
}

export const DEFAULT_BATCH_SIZE = 64;
// On 256 scifact abstracts and 512 scifact queries (1 thread, shared 2-core machine), budgets of
// 256-1024 tokens were the fastest for both; 4096+ was ~20% slower on abstracts, ~35% on queries.
export const DEFAULT_MAX_BATCH_TOKENS = 512;
// Two batches in flight: the next one is padded and queued while the worker runs the current one,
// so the worker never waits for the main thread between batches.
const MAX_IN_FLIGHT = 2;

export class OnnxEncoder {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly spec: ModelSpec,
    readonly tokenizer: WordPieceTokenizer,
    readonly config: OnnxEncoderConfig,
    private readonly backend: InferenceBackend,
  ) {}

  static async load(spec: ModelSpec, files: ModelFilePaths, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const config = resolveConfig(spec, options);
    const tokenizer = await WordPieceTokenizer.fromFile(files.tokenizerPath);
    if (tokenizer.config.lowercase !== spec.lowercase) {
      throw new ContractError(
        'encoder-config',
        `${files.tokenizerPath} ${tokenizer.config.lowercase ? 'lowercases' : 'keeps case'}, but the registry says lowercase=${spec.lowercase} for ${spec.id}`,
      );
    }
    // Both prefixes must leave room for text in a window.
    for (const prefix of [spec.queryPrefix, spec.documentPrefix]) {
      validateChunkingOptions(chunkingOptions(tokenizer, config, prefix));
    }
    const sessionConfig = {
      onnxPath: files.onnxPath,
      dimension: spec.dimension,
      pooling: spec.pooling,
      normalize: spec.normalize,
      allowSpinning: config.allowSpinning,
      ...(config.intraOpNumThreads !== undefined && { intraOpNumThreads: config.intraOpNumThreads }),
      ...(config.interOpNumThreads !== undefined && { interOpNumThreads: config.interOpNumThreads }),
    };
    const backend = config.useWorker ? await WorkerBackend.start(sessionConfig) : await InProcessBackend.start(sessionConfig);
    return new OnnxEncoder(spec, tokenizer, config, backend);
  }

  get dimension(): number {
    return this.spec.dimension;
  }

  /**
   * One vector per text, truncated to maxTokens like sentence-transformers' encode(): text past
   * the limit is ignored. Use embedChunks for documents that must be covered in full.
   */
  async embed(texts: readonly string[], options: { inputType?: InputType } = {}): Promise<Float32Array[]> {
    const prefix = this.prefixFor(options.inputType);
    const vectors = await this.run(longestTextsFirst(texts), (index) => [
      this.tokenizer.encodeIds(prefix + texts[index]!, this.config.maxTokens),
    ]);
    return vectors.map((perText) => perText[0]!);
  }

  /**
   * Splits each text into overlapping windows (a text that fits is one chunk) and embeds every
   * window. Texts are documents unless told otherwise, so e5 windows get its "passage: " prefix.
   */
  async embedChunks(texts: readonly string[], options: { inputType?: InputType; overlapTokens?: number } = {}): Promise<EmbeddedChunk[][]> {
    const perText: Chunk[][] = new Array<Chunk[]>(texts.length);
    const vectors = await this.run(longestTextsFirst(texts), (index) => {
      perText[index] = this.chunk(texts[index]!, options);
      return perText[index].map((chunk) => chunk.ids);
    });
    return perText.map((chunks, index) => chunks.map((chunk, k) => ({ ...chunk, vector: vectors[index]![k]! })));
  }

  /** The windows embedChunks would embed, without running the model. */
  chunk(text: string, options: { inputType?: InputType; overlapTokens?: number } = {}): Chunk[] {
    const inputType = options.inputType ?? 'document';
    const chunking = chunkingOptions(this.tokenizer, this.config, this.prefixFor(inputType), options.overlapTokens);
    return chunkTokens(this.tokenizer.tokenize(text), chunking);
  }

  /** Ends the inference worker once the runs in flight finish; later calls fail with UnavailableError `encoder-closed`. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.backend.close();
    return this.closing;
  }

  private prefixFor(inputType: InputType | undefined): string {
    if (inputType === 'query') return this.spec.queryPrefix;
    if (inputType === 'document') return this.spec.documentPrefix;
    return '';
  }

  /**
   * Tokenises the texts in `order` (longest first) with `sequencesOf` and embeds every sequence it
   * returns, in length-bucketed batches released while tokenising goes on: the worker runs one
   * batch while the next is tokenised, padded and queued. Returns the vectors per text index.
   */
  private async run(order: readonly number[], sequencesOf: (index: number) => number[][]): Promise<Float32Array[][]> {
    if (this.closing) throw new UnavailableError('encoder-closed', `encoder for ${this.spec.id} is closed`, { retriable: false });
    const dimension = this.spec.dimension;
    const sequences: number[][] = [];
    const results: Float32Array[] = [];
    const rowsOf: number[][] = new Array<number[]>(order.length);
    const batcher = new LengthBatcher(this.config);
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    const dispatch = async (rows: number[]): Promise<void> => {
      const tracked: Promise<void> = this.backend
        .run(
          padBatch(
            rows.map((row) => sequences[row]!),
            this.tokenizer.padId,
          ),
        )
        .then((flat) => {
          rows.forEach((row, k) => (results[row] = flat.slice(k * dimension, (k + 1) * dimension)));
        })
        .catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    };
    let tokenised = 0;
    for (const index of order) {
      if (failure) break;
      const rows: number[] = [];
      for (const ids of sequencesOf(index)) {
        const row = sequences.push(ids) - 1;
        rows.push(row);
        for (const batch of batcher.push(row, ids.length)) await dispatch(batch);
      }
      rowsOf[index] = rows;
      await yieldEvery(++tokenised);
    }
    for (const batch of batcher.flush()) {
      if (failure) break;
      await dispatch(batch);
    }
    // Settle everything in flight before reporting, so no batch outlives this call.
    await Promise.all(inFlight);
    if (failure) throw failure;
    return rowsOf.map((rows) => rows.map((row) => results[row]!));
  }
}

// Tokenizing a large batch takes tens of milliseconds; give timers and I/O a turn in between.
const YIELD_EVERY_TEXTS = 32;

async function yieldEvery(count: number): Promise<void> {
  if (count % YIELD_EVERY_TEXTS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function padBatch(sequences: readonly number[][], padId: number): PaddedBatch {
  const sequenceLength = Math.max(...sequences.map((ids) => ids.length));
  const batchSize = sequences.length;
  const inputIds = new BigInt64Array(batchSize * sequenceLength).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(batchSize * sequenceLength);
  sequences.forEach((ids, row) => {
    const base = row * sequenceLength;
    for (let k = 0; k < ids.length; k++) {
      inputIds[base + k] = BigInt(ids[k]!);
      attentionMask[base + k] = 1n;
    }
  });
  return { inputIds, attentionMask, batchSize, sequenceLength };
}

function chunkingOptions(
  tokenizer: WordPieceTokenizer,
  config: OnnxEncoderConfig,
  prefix: string,
  overlapTokens = config.overlapTokens,
): ChunkingOptions {
  return {
    maxTokens: config.maxTokens,
    overlapTokens,
    clsId: tokenizer.clsId,
    sepId: tokenizer.sepId,
    prefixIds: prefix ? tokenizer.tokenize(prefix).ids : [],
  };
}

function resolveConfig(spec: ModelSpec, options: OnnxEncoderOptions): OnnxEncoderConfig {
  const config: OnnxEncoderConfig = {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    allowSpinning: options.allowSpinning ?? false,
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    maxBatchTokens: options.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS,
    maxTokens: options.maxTokens ?? spec.maxTokens,
    overlapTokens: options.overlapTokens ?? DEFAULT_OVERLAP_TOKENS,
    useWorker: options.useWorker ?? true,
  };
  const positiveInt = (value: number | undefined): boolean => value === undefined || (Number.isInteger(value) && value > 0);
  if (!positiveInt(config.intraOpNumThreads) || !positiveInt(config.interOpNumThreads)) {
    throw new ContractError('encoder-config', 'intraOpNumThreads and interOpNumThreads must be positive integers');
  }
  if (!positiveInt(config.batchSize) || !positiveInt(config.maxBatchTokens)) {
    throw new ContractError(
      'encoder-config',
      `batchSize and maxBatchTokens must be positive integers, got ${config.batchSize} and ${config.maxBatchTokens}`,
    );
  }
  if (!Number.isInteger(config.maxTokens) || config.maxTokens > spec.maxTokens || config.maxTokens < 3) {
    throw new ContractError(
      'encoder-config',
      `maxTokens must be an integer in [3, ${spec.maxTokens}] for ${spec.id}, got ${config.maxTokens}`,
    );
  }
  return config;
}
