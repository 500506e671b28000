// Encoder throughput, ours against a reference: our encoder (consumers/encoders) and
// @huggingface/transformers run the same ONNX file, in this process, on the same SciFact texts.
// The baseline reads a model directory assembled in os.tmpdir() from our cached files, and its
// fetch is replaced by one that throws, so a stray hub request fails the run instead of
// downloading something else to compare against.
// Run: node --import tsx test/bench/encoder-throughput.ts [--dataset <beir-dir>] [--docs N] [--baseline-batch N] [--skip-single-thread]
// The dataset defaults to the test fixture (test/fixtures/scifact, 1,000 abstracts).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModel, AutoTokenizer, env, mean_pooling, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { documentText } from '../../consumers/encoder/index.ts';
import { cosineSimilarity, loadEncoder, WordPieceTokenizer, type OnnxEncoder } from '../../consumers/encoders/index.ts';
import { ensureModel, type ModelFiles } from '../../infra/models/index.ts';
import { getModelSpec, type ModelSpec } from '../../topology/index.ts';
import { readScifact, SCIFACT_DIR } from '../support/corpus.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: SCIFACT_DIR },
    docs: { type: 'string', default: '512' },
    // 1 is the baseline's fastest here: in a sweep of 1/4/8/32 (1 thread, 128 docs) each step up was
    // slower, since transformers.js pads a batch to its longest text; ours batches by length instead.
    'baseline-batch': { type: 'string', default: '1' },
    // Every side of a comparison runs slice by slice in turn (rotating who goes first), so that the
    // load of a shared machine shifting mid-run weighs on all sides alike.
    slice: { type: 'string', default: '64' },
    'skip-single-thread': { type: 'boolean', default: false },
  },
});
const docCount = positiveInt('--docs', values.docs);
const baselineBatch = positiveInt('--baseline-batch', values['baseline-batch']);
const sliceSize = positiveInt('--slice', values.slice);

// Warm-up texts are taken after the timed ones, so that nothing a warm-up leaves behind (our
// tokenizer's word cache) was computed from the timed texts themselves.
const WARMUP_TEXTS = 16;
const MIN_COSINE = 0.999;
const LABEL_WIDTH = 56;
const FP32 = getModelSpec('all-minilm-l6-v2');
const INT8 = getModelSpec('all-minilm-l6-v2-q');

type Mode = 'chunks' | 'truncated';

/** One side of a comparison, loaded and ready: it embeds texts and says how many tokens it fed. */
interface Runner {
  readonly key: string;
  readonly label: string;
  run(batch: readonly string[]): Promise<Float32Array[][]>;
  /** Tokens of the timed texts as this side feeds them (after the timed run, from its own tokenizer). */
  tokens(): number;
  /** Truncated vectors of the sample texts, each embedded on its own (none for chunked runs). */
  sample(): Promise<Float32Array[]>;
  close(): Promise<void>;
}

interface Measurement {
  readonly key: string;
  readonly label: string;
  readonly seconds: number;
  readonly tokens: number;
  /** Per text, one vector per chunk (one for truncated runs). */
  readonly vectors: Float32Array[][];
  /** Truncated vectors of the sample texts, each embedded on its own (empty for chunked runs). */
  readonly sample: Float32Array[];
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

const corpus = await readScifact(docCount + WARMUP_TEXTS, values.dataset);
if (corpus.length < docCount + WARMUP_TEXTS) {
  throw new Error(`--docs ${docCount} needs ${docCount + WARMUP_TEXTS} documents; the corpus has ${corpus.length}`);
}
const texts = corpus.slice(0, docCount).map(documentText);
const warmupTexts = corpus.slice(docCount).map(documentText);

const fp32Files = await ensureModel(FP32, { log });
const int8Files = await ensureModel(INT8, { log });
// Counted with a tokenizer of its own: the encoders under test must start with a cold word cache.
const counter = await WordPieceTokenizer.fromFile(fp32Files.tokenizerPath);
const encodedTexts = texts.map((text) => counter.encode(text, { maxTokens: FP32.maxTokens }));
const truncatedIds = encodedTexts.map((encoded) => encoded.ids);
const overLimit = encodedTexts.filter((encoded) => encoded.untruncatedLength > FP32.maxTokens).length;
const truncatedTokens = truncatedIds.reduce((sum, ids) => sum + ids.length, 0);
// Texts of every length, embedded one at a time on both sides for the agreement check: in a batch
// of one nothing is padded, and int8 models quantize activations with a scale computed over the
// whole padded batch, so batched int8 vectors depend on what they were batched with.
const SAMPLE_SIZE = Math.min(16, texts.length);
const byLength = texts.map((_, i) => i).sort((a, b) => truncatedIds[a]!.length - truncatedIds[b]!.length);
const sampleIndices = Array.from({ length: SAMPLE_SIZE }, (_, k) => byLength[Math.round((k * (texts.length - 1)) / Math.max(1, SAMPLE_SIZE - 1))]!);

const modelRoot = await mkdtemp(join(tmpdir(), 'searchbus-bench-hf-'));
const results = new Map<string, Measurement>();
const failures: string[] = [];
try {
  const fp32Id = await buildHfModelDir(modelRoot, FP32, fp32Files, counter);
  const int8Id = await buildHfModelDir(modelRoot, INT8, int8Files, counter);
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = modelRoot;
  // Nothing is downloaded, so there is nothing to cache (and its default cache is inside node_modules).
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.fetch = (input: string | URL) => Promise.reject(new Error(`offline bench: @huggingface/transformers tried to fetch ${String(input)}`));

  const cores = availableParallelism();
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (${cores} cores; figures are only as quiet as the machine)`);
  console.log(`encoder throughput: ${texts.length} SciFact docs (title + text), ${truncatedTokens} tokens after truncation to ${FP32.maxTokens}`);
  console.log(`baseline: @huggingface/transformers ${env.version} (onnxruntime-node ${env.backends.onnx.versions?.node ?? '?'}), AutoTokenizer + AutoModel as its feature-extraction pipeline, mean pooling + normalize, batches of ${baselineBatch} in corpus order`);
  console.log(`threads: "default" leaves intraOpNumThreads unset on both sides (onnxruntime picks, ${cores} cores here); "1 thread" sets it to 1 on both`);

  const hfToken = await compareTokenization(fp32Id);
  console.log(
    `tokenization: our ids equal transformers.js ids for ${hfToken.same}/${texts.length} texts ` +
      `(${overLimit} texts are over ${FP32.maxTokens} tokens: transformers.js cuts their final [SEP], the baseline here puts it back)`,
  );
  if (hfToken.same !== texts.length) failures.push(`tokenizers disagree on ${texts.length - hfToken.same} texts, e.g. #${hfToken.firstDiff}`);
  console.log('');

  const groups: Array<{ title: string; load: Array<() => Promise<Runner>> }> = [
    {
      title: 'fp32, default threads',
      load: [
        () => oursRunner('ours-fp32-chunks', 'ours     fp32 embedChunks (whole docs)  default threads', FP32, 'chunks', undefined),
        () => oursRunner('ours-fp32', 'ours     fp32 embed (truncated 256)     default threads', FP32, 'truncated', undefined),
        () => baselineRunner('base-fp32', 'baseline fp32 (truncated 256)           default threads', fp32Id, undefined),
      ],
    },
    {
      title: 'int8, default threads',
      load: [
        () => oursRunner('ours-int8-chunks', 'ours     int8 embedChunks (whole docs)  default threads', INT8, 'chunks', undefined),
        () => oursRunner('ours-int8', 'ours     int8 embed (truncated 256)     default threads', INT8, 'truncated', undefined),
        () => baselineRunner('base-int8', 'baseline int8 (truncated 256)           default threads', int8Id, undefined),
      ],
    },
  ];
  if (!values['skip-single-thread']) {
    groups.push({
      title: 'fp32, 1 thread',
      load: [
        () => oursRunner('ours-fp32-1t', 'ours     fp32 embed (truncated 256)     1 thread', FP32, 'truncated', 1),
        () => baselineRunner('base-fp32-1t', 'baseline fp32 (truncated 256)           1 thread', fp32Id, 1),
      ],
    });
  }
  for (const group of groups) {
    for (const measurement of await measureGroup(group.load)) {
      results.set(measurement.key, measurement);
      console.log(formatLine(measurement));
    }
  }
} finally {
  await rm(modelRoot, { recursive: true, force: true });
}

const get = (key: string): Measurement => {
  const found = results.get(key);
  if (!found) throw new Error(`no measurement ${key}`);
  return found;
};
const pairs = [
  { name: 'fp32 default threads', ours: get('ours-fp32'), baseline: get('base-fp32'), batchedIsExact: true },
  { name: 'int8 default threads', ours: get('ours-int8'), baseline: get('base-int8'), batchedIsExact: false },
  ...(values['skip-single-thread'] ? [] : [{ name: 'fp32 1 thread', ours: get('ours-fp32-1t'), baseline: get('base-fp32-1t'), batchedIsExact: true }]),
];
console.log('');
for (const { name, ours, baseline, batchedIsExact } of pairs) {
  const sample = ours.sample.map((vector, k) => cosineSimilarity(vector, baseline.sample[k]!));
  const batched = ours.vectors.map((chunks, i) => cosineSimilarity(chunks[0]!, baseline.vectors[i]![0]!));
  console.log(
    `agreement ${name.padEnd(20)}: ${sample.length} sample texts one at a time: min cosine ${Math.min(...sample).toFixed(6)}; ` +
      `all ${batched.length} timed (batched) vectors: min ${Math.min(...batched).toFixed(6)}, mean ${mean(batched).toFixed(6)}${batchedIsExact ? '' : ' (not checked: int8 activation scales are per batch, so vectors depend on batch-mates and padding)'}`,
  );
  if (!(Math.min(...sample) >= MIN_COSINE)) failures.push(`${name}: sample min cosine ${Math.min(...sample).toFixed(6)} < ${MIN_COSINE}`);
  if (batchedIsExact && !(Math.min(...batched) >= MIN_COSINE)) failures.push(`${name}: timed vectors min cosine ${Math.min(...batched).toFixed(6)} < ${MIN_COSINE}`);
}
// A text that fits in one window is one chunk, which must be the very vector the baseline computes.
{
  const chunked = get('ours-fp32-chunks');
  const baseline = get('base-fp32');
  const single = chunked.vectors.flatMap((chunks, i) => (chunks.length === 1 ? [cosineSimilarity(chunks[0]!, baseline.vectors[i]![0]!)] : []));
  if (single.length > 0) {
    console.log(`agreement fp32 embedChunks    : the ${single.length} single-chunk texts vs baseline: min cosine ${Math.min(...single).toFixed(6)}`);
    if (!(Math.min(...single) >= MIN_COSINE)) failures.push(`fp32 embedChunks: min cosine ${Math.min(...single).toFixed(6)} < ${MIN_COSINE}`);
  }
}
const int8VsFp32 = get('ours-int8').vectors.map((chunks, i) => cosineSimilarity(chunks[0]!, get('ours-fp32').vectors[i]![0]!));
console.log(`int8 vs fp32 (ours, truncated): cosine min ${Math.min(...int8VsFp32).toFixed(4)}, mean ${mean(int8VsFp32).toFixed(4)} (quantization error, for information)`);

console.log('');
const speedup = (ours: Measurement, baseline: Measurement): string => `${(baseline.seconds / ours.seconds).toFixed(2)}x`;
const chunks = get('ours-fp32-chunks');
const base = get('base-fp32');
console.log(
  `ratio ours/baseline in docs/s (same texts and tokens, so also in tokens/s; same ONNX file, truncation 256): ${pairs.map((p) => `${p.name} ${speedup(p.ours, p.baseline)}`).join(', ')}` +
    ` | ours fp32 embedChunks (whole docs, ${chunks.tokens} tokens) vs baseline fp32: ${speedup(chunks, base)} docs/s, ${(chunks.tokens / chunks.seconds / (base.tokens / base.seconds)).toFixed(2)}x tokens/s`,
);
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (failures.length > 0) throw new Error(`encoder-throughput checks failed:\n  ${failures.join('\n  ')}`);

/** Loads every side, warms each up, then times them on the same texts, slice by slice in turn. */
async function measureGroup(loaders: Array<() => Promise<Runner>>): Promise<Measurement[]> {
  const runners: Runner[] = [];
  try {
    for (const load of loaders) runners.push(await load());
    for (const runner of runners) await runner.run(warmupTexts);
    const seconds = runners.map(() => 0);
    const vectors = runners.map((): Float32Array[][] => []);
    for (let start = 0, round = 0; start < texts.length; start += sliceSize, round++) {
      const slice = texts.slice(start, start + sliceSize);
      for (let k = 0; k < runners.length; k++) {
        const j = (k + round) % runners.length;
        const started = performance.now();
        const output = await runners[j]!.run(slice);
        seconds[j]! += (performance.now() - started) / 1000;
        vectors[j]!.push(...output);
      }
    }
    const measurements: Measurement[] = [];
    for (const [j, runner] of runners.entries()) {
      const label = runner.label.padEnd(LABEL_WIDTH);
      measurements.push({ key: runner.key, label, seconds: seconds[j]!, tokens: runner.tokens(), vectors: vectors[j]!, sample: await runner.sample() });
    }
    return measurements;
  } finally {
    for (const runner of runners) await runner.close();
  }
}

async function oursRunner(key: string, label: string, spec: ModelSpec, mode: Mode, threads: number | undefined): Promise<Runner> {
  // An encoder per side: its word cache holds the warm-up texts, never texts timed by another side.
  const encoder = await loadEncoder(spec, threads ? { intraOpThreads: threads } : {});
  return {
    key,
    label,
    run: (batch) => runOurs(encoder, batch, mode),
    tokens: () => (mode === 'chunks' ? texts.reduce((sum, text) => sum + encoder.chunk(text).reduce((n, c) => n + c.ids.length, 0), 0) : truncatedTokens),
    sample: async () => {
      const sample: Float32Array[] = [];
      if (mode === 'truncated') for (const i of sampleIndices) sample.push(...(await encoder.embed([texts[i]!])));
      return sample;
    },
    close: () => encoder.dispose(),
  };
}

async function runOurs(encoder: OnnxEncoder, batch: readonly string[], mode: Mode): Promise<Float32Array[][]> {
  if (mode === 'chunks') return (await encoder.embedChunks(batch, { inputType: 'document' })).map((chunks) => chunks.map((c) => c.vector));
  return (await encoder.embed(batch)).map((vector) => [vector]);
}

interface Baseline {
  readonly tokenizer: PreTrainedTokenizer;
  readonly model: PreTrainedModel;
  readonly sepId: number;
}

async function baselineRunner(key: string, label: string, modelId: string, threads: number | undefined): Promise<Runner> {
  const baseline = await loadBaseline(modelId, threads);
  return {
    key,
    label,
    run: async (batch) => (await runBaseline(baseline, batch)).map((vector) => [vector]),
    tokens: () => truncatedTokens,
    sample: async () => {
      const sample: Float32Array[] = [];
      for (const i of sampleIndices) sample.push(...(await runBaseline(baseline, [texts[i]!])));
      return sample;
    },
    close: async () => {
      await baseline.model.dispose();
    },
  };
}

async function loadBaseline(modelId: string, threads: number | undefined): Promise<Baseline> {
  const tokenizer = await AutoTokenizer.from_pretrained(modelId);
  const model = await AutoModel.from_pretrained(modelId, {
    device: 'cpu',
    // dtype only picks the file name (fp32 = onnx/model.onnx); in the int8 directory that is the int8 file.
    dtype: 'fp32',
    session_options: threads ? { intraOpNumThreads: threads } : {},
  });
  const sepId = tokenizer.sep_token_id;
  if (sepId === undefined) throw new Error(`${modelId}: tokenizer has no [SEP] id`);
  return { tokenizer, model, sepId };
}

/**
 * What the feature-extraction pipeline does (tokenize with padding and truncation, run, mean-pool
 * over the mask, L2-normalise), plus one fix: transformers.js truncates after adding special
 * tokens, cutting off the final [SEP], where HF tokenizers (and sentence-transformers, and ours)
 * keep it. Restoring it makes both sides embed exactly the same ids.
 */
async function runBaseline({ tokenizer, model, sepId }: Baseline, batch: readonly string[]): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let start = 0; start < batch.length; start += baselineBatch) {
    const inputs = tokenizer(batch.slice(start, start + baselineBatch), { padding: true, truncation: true });
    restoreFinalSep(inputs.input_ids, inputs.attention_mask, sepId);
    const outputs = (await model(inputs)) as { last_hidden_state: Tensor };
    const pooled = mean_pooling(outputs.last_hidden_state, inputs.attention_mask).normalize(2, -1);
    const [rows, dimension] = pooled.dims as [number, number];
    const data = pooled.data as Float32Array;
    for (let row = 0; row < rows; row++) vectors.push(data.slice(row * dimension, (row + 1) * dimension));
  }
  return vectors;
}

function restoreFinalSep(inputIds: Tensor, attentionMask: Tensor, sepId: number): void {
  const [rows, width] = inputIds.dims as [number, number];
  if (width < FP32.maxTokens) return;
  const ids = inputIds.data as BigInt64Array;
  const mask = attentionMask.data as BigInt64Array;
  for (let row = 0; row < rows; row++) {
    const last = row * width + width - 1;
    if (mask[last] === 1n && ids[last] !== BigInt(sepId)) ids[last] = BigInt(sepId);
  }
}

/** Token ids of the baseline's own tokenizer, so a throughput gap cannot come from different inputs. */
async function compareTokenization(modelId: string): Promise<{ same: number; firstDiff: number | undefined }> {
  const tokenizer = await AutoTokenizer.from_pretrained(modelId);
  const sepId = tokenizer.sep_token_id ?? -1;
  let same = 0;
  let firstDiff: number | undefined;
  texts.forEach((text, i) => {
    const encoded = tokenizer(text, { truncation: true });
    restoreFinalSep(encoded.input_ids, encoded.attention_mask, sepId);
    const theirs = Array.from(encoded.input_ids.data as BigInt64Array, Number);
    const ours = truncatedIds[i]!;
    if (theirs.length === ours.length && theirs.every((id, k) => id === ours[k])) same++;
    else firstDiff ??= i;
  });
  return { same, firstDiff };
}

/**
 * The Hugging Face layout transformers.js loads from: config.json, tokenizer.json,
 * tokenizer_config.json and onnx/model.onnx, the last two pointing at our verified cached files.
 */
async function buildHfModelDir(root: string, spec: ModelSpec, files: ModelFiles, tokenizer: WordPieceTokenizer): Promise<string> {
  const modelId = `searchbus/${spec.id}`;
  const dir = join(root, modelId);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await symlink(files.onnxPath, join(dir, 'onnx', 'model.onnx'));
  await symlink(files.tokenizerPath, join(dir, 'tokenizer.json'));
  // all-MiniLM-L6-v2's BERT geometry; the width comes from the registry and the vocabulary from the tokenizer.
  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: spec.dimension,
    num_hidden_layers: 6,
    num_attention_heads: 12,
    intermediate_size: 4 * spec.dimension,
    hidden_act: 'gelu',
    max_position_embeddings: 512,
    type_vocab_size: 2,
    vocab_size: tokenizer.config.vocab.length,
    layer_norm_eps: 1e-12,
    pad_token_id: tokenizer.padId,
  };
  // model_max_length is what the pipeline truncates to (the tokenizer.json's own 128 is ignored).
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: spec.lowercase,
    model_max_length: spec.maxTokens,
    cls_token: tokenizer.config.clsToken,
    sep_token: tokenizer.config.sepToken,
    pad_token: tokenizer.config.padToken,
    unk_token: tokenizer.config.unkToken,
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  return modelId;
}

function formatLine(m: Measurement): string {
  const docsPerSecond = texts.length / m.seconds;
  const tokensPerSecond = m.tokens / m.seconds;
  return `${m.label}  ${docsPerSecond.toFixed(1).padStart(7)} docs/s  ${tokensPerSecond.toFixed(0).padStart(7)} tokens/s  (${texts.length} docs, ${m.tokens} tokens, ${m.seconds.toFixed(2)} s)`;
}

function mean(numbers: readonly number[]): number {
  return numbers.reduce((sum, x) => sum + x, 0) / numbers.length;
}

function positiveInt(flag: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} must be a positive integer, got ${raw}`);
  return value;
}
