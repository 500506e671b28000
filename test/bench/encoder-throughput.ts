// Encoder throughput, ours against a reference: our encoder (consumers/embedding) and
// @huggingface/transformers run the same ONNX file, in this process, on the same SciFact texts.
// The baseline reads a model directory assembled in os.tmpdir() from our cached files, and its
// fetch is replaced by one that throws, so a stray hub request fails the run instead of
// downloading something else to compare against.
// A third side is bare onnxruntime: session.run alone on exactly the batches our encoder forms
// (tokenised and padded before the clock starts, no pooling, main thread), so the ratio to it is
// what tokenising, batching, the worker hop and pooling cost. The int8 variants (the registry's
// file and a per-channel quantisation of the fp32 file) and the optimised fp32 graph run in the
// same interleaved rounds, so every ratio is measured side by side under the same load.
// Run: node --import tsx test/bench/encoder-throughput.ts [--dataset <beir-dir>] [--docs N] [--baseline-batch N]
//        [--single-thread] [--json <path>] [--ndcg <beir-dir> (inside `searchbus infra run --`)]
// The dataset defaults to the test fixture (test/fixtures/scifact, 1,000 abstracts). --json writes
// the figures `npm run bench` collects: encoder_vs_transformersjs, encoder_vs_session_run,
// int8_speedup, int8_ndcg_loss (null without --ndcg), and details.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AutoModel,
  AutoTokenizer,
  env,
  mean_pooling,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import { documentText } from '../../consumers/encoder/index.ts';
import * as ort from 'onnxruntime-node';
import {
  cosineSimilarity,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BATCH_TOKENS,
  longestTextsFirst,
  padBatch,
  sessionOptions,
  streamedBatches,
  WordPieceTokenizer,
  type OnnxEncoder,
} from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { ensureEncoderFiles, ensureModel, type ModelFiles } from '../../infra/models/index.ts';
import { DEFAULT_INT8_SOURCE, getModelSpec, type EncoderGraph, type Int8Source, type ModelSpec } from '../../topology/index.ts';
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
    'single-thread': { type: 'boolean', default: false },
    chunks: { type: 'boolean', default: false },
    json: { type: 'string' },
    // Also SEARCHBUS_BENCH_NDCG=<beir-dir>, for runners that pass only --dataset and --json.
    ndcg: { type: 'string', default: process.env.SEARCHBUS_BENCH_NDCG },
  },
});
const docCount = positiveInt('--docs', values.docs);
const baselineBatch = positiveInt('--baseline-batch', values['baseline-batch']);
const sliceSize = positiveInt('--slice', values.slice);

// Warm-up texts are taken after the timed ones, so that nothing a warm-up leaves behind (our
// tokenizer's word cache) was computed from the timed texts themselves.
const WARMUP_TEXTS = 16;
// What the report says about int8_ndcg_loss when this run did not measure it (no --ndcg): where the
// figure that exists was measured, so the report points at it instead of a bare "not measured".
const INT8_NDCG_PROVENANCE =
  'not re-measured in this run (it needs --ndcg <beir-dir> inside `searchbus infra run --`: three whole-pipeline evals of SciFact train, ' +
  'tens of minutes on 2 shared cores); measured in issue 11 session 3 with `searchbus eval /work/shared/data/scifact-train --split train --json` ' +
  'per variant (SEARCHBUS_MODEL, SEARCHBUS_INT8_SOURCE; load 35-70): nDCG@10 fp32 0.6703, per-channel int8 0.6690 (loss 0.0012, the default), ' +
  'registry int8 0.6653 (loss 0.0050); README, Measured, "Model"';
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
  /** Wall seconds of each slice, in slice order (for paired per-slice ratios). */
  readonly sliceSeconds: number[];
  /** CPU seconds of the whole process (every thread: main, worker, onnxruntime pool) while this side ran. */
  readonly cpuSeconds: number;
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
const sampleIndices = Array.from(
  { length: SAMPLE_SIZE },
  (_, k) => byLength[Math.round((k * (texts.length - 1)) / Math.max(1, SAMPLE_SIZE - 1))]!,
);

const modelRoot = await mkdtemp(join(tmpdir(), 'searchbus-bench-hf-'));
const results = new Map<string, Measurement>();
let loadStart = loadavg();
const failures: string[] = [];
try {
  const fp32Id = await buildHfModelDir(modelRoot, FP32, fp32Files, counter);
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = modelRoot;
  // Nothing is downloaded, so there is nothing to cache (and its default cache is inside node_modules).
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.fetch = (input: string | URL) =>
    Promise.reject(new Error(`offline bench: @huggingface/transformers tried to fetch ${String(input)}`));

  const cores = availableParallelism();
  loadStart = loadavg();
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (${cores} cores; figures are only as quiet as the machine)`,
  );
  console.log(
    `encoder throughput: ${texts.length} SciFact docs (title + text), ${truncatedTokens} tokens after truncation to ${FP32.maxTokens}`,
  );
  console.log(
    `baseline: @huggingface/transformers ${env.version} (onnxruntime-node ${env.backends.onnx.versions?.node ?? '?'}), AutoTokenizer + AutoModel as its feature-extraction pipeline, mean pooling + normalize, batches of ${baselineBatch} in corpus order`,
  );
  console.log(
    `threads: "default" leaves intraOpNumThreads unset on both sides (onnxruntime picks, ${cores} cores here); "1 thread" sets it to 1 on both`,
  );

  const hfToken = await compareTokenization(fp32Id);
  console.log(
    `tokenization: our ids equal transformers.js ids for ${hfToken.same}/${texts.length} texts ` +
      `(${overLimit} texts are over ${FP32.maxTokens} tokens: transformers.js cuts their final [SEP], the baseline here puts it back)`,
  );
  if (hfToken.same !== texts.length)
    failures.push(`tokenizers disagree on ${texts.length - hfToken.same} texts, e.g. #${hfToken.firstDiff}`);
  console.log('');

  const pcInt8 = await ensureEncoderFiles(INT8, { int8Source: 'per-channel' }, { log });
  const groups: Array<{ title: string; load: Array<() => Promise<Runner>> }> = [
    {
      title: 'default threads',
      load: [
        () => oursRunner('ours-fp32', 'ours     fp32 stock graph', FP32, 'truncated', undefined, { graph: 'stock' }),
        () => bareRunner('bare-fp32', 'bare session.run fp32 stock, our batches', fp32Files.onnxPath, undefined),
        // The same bare side again, as a control: its ratio to the first is the noise of this run.
        () => bareRunner('bare-fp32-control', 'bare session.run fp32 again (A/A control)', fp32Files.onnxPath, undefined),
        () => baselineRunner('base-fp32', 'transformers.js fp32 stock', fp32Id, undefined),
        () => oursRunner('ours-fp32-opt', 'ours     fp32 optimised graph', FP32, 'truncated', undefined, { graph: 'optimized' }),
        () => oursRunner('ours-int8-registry', 'ours     int8 registry file', INT8, 'truncated', undefined, { int8Source: 'registry' }),
        () =>
          oursRunner('ours-int8-per-channel', 'ours     int8 per-channel (ours)', INT8, 'truncated', undefined, {
            int8Source: 'per-channel',
          }),
        () => bareRunner('bare-int8-per-channel', 'bare session.run int8 per-channel', pcInt8.onnxPath, undefined),
      ],
    },
  ];
  if (values.chunks) {
    groups.push({
      title: 'whole documents',
      load: [
        () => oursRunner('ours-fp32-chunks', 'ours     fp32 embedChunks (whole docs)', FP32, 'chunks', undefined, {}),
        () => oursRunner('ours-fp32-truncated', 'ours     fp32 embed (truncated 256)', FP32, 'truncated', undefined, {}),
      ],
    });
  }
  if (values['single-thread']) {
    groups.push({
      title: 'fp32, 1 thread',
      load: [
        () => oursRunner('ours-fp32-1t', 'ours     fp32 stock graph, 1 thread', FP32, 'truncated', 1, { graph: 'stock' }),
        () => bareRunner('bare-fp32-1t', 'bare session.run fp32, 1 thread', fp32Files.onnxPath, 1),
        () => baselineRunner('base-fp32-1t', 'transformers.js fp32, 1 thread', fp32Id, 1),
      ],
    });
  }
  for (const group of groups) {
    console.log(
      `-- ${group.title} (load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
    );
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
  { name: 'fp32 vs transformers.js', ours: get('ours-fp32'), baseline: get('base-fp32'), batchedIsExact: true },
  { name: 'fp32 optimised vs stock', ours: get('ours-fp32-opt'), baseline: get('ours-fp32'), batchedIsExact: true },
  ...(values['single-thread']
    ? [{ name: 'fp32 1 thread', ours: get('ours-fp32-1t'), baseline: get('base-fp32-1t'), batchedIsExact: true }]
    : []),
];
console.log('');
const agreement: Record<string, { sampleMin: number; batchedMin: number; batchedMean: number }> = {};
for (const { name, ours, baseline, batchedIsExact } of pairs) {
  const sample = ours.sample.map((vector, k) => cosineSimilarity(vector, baseline.sample[k]!));
  const batched = ours.vectors.map((chunks, i) => cosineSimilarity(chunks[0]!, baseline.vectors[i]![0]!));
  agreement[name] = { sampleMin: Math.min(...sample), batchedMin: Math.min(...batched), batchedMean: mean(batched) };
  console.log(
    `agreement ${name.padEnd(24)}: ${sample.length} sample texts one at a time: min cosine ${Math.min(...sample).toFixed(6)}; ` +
      `all ${batched.length} timed (batched) vectors: min ${Math.min(...batched).toFixed(6)}, mean ${mean(batched).toFixed(6)}`,
  );
  if (!(Math.min(...sample) >= MIN_COSINE)) failures.push(`${name}: sample min cosine ${Math.min(...sample).toFixed(6)} < ${MIN_COSINE}`);
  if (batchedIsExact && !(Math.min(...batched) >= MIN_COSINE))
    failures.push(`${name}: timed vectors min cosine ${Math.min(...batched).toFixed(6)} < ${MIN_COSINE}`);
}
const int8Agreement: Record<string, { min: number; mean: number }> = {};
for (const source of ['registry', 'per-channel'] as const) {
  const cosines = get(`ours-int8-${source}`).sample.map((vector, k) => cosineSimilarity(vector, get('ours-fp32').sample[k]!));
  int8Agreement[source] = { min: Math.min(...cosines), mean: mean(cosines) };
  console.log(
    `int8 ${source.padEnd(11)} vs fp32, sample texts one at a time: cosine min ${Math.min(...cosines).toFixed(4)}, mean ${mean(cosines).toFixed(4)} (quantisation error)`,
  );
}

console.log('');
const ratio = (ours: Measurement, baseline: Measurement): number => baseline.seconds / ours.seconds;
const fp32 = get('ours-fp32');
const figures = {
  encoder_vs_transformersjs: ratio(fp32, get('base-fp32')),
  encoder_vs_session_run: ratio(fp32, get('bare-fp32')),
  int8_speedup: ratio(get(`ours-int8-${DEFAULT_INT8_SOURCE}`), fp32),
};
console.log(`ours fp32 vs transformers.js (same file, texts, threads): ${figures.encoder_vs_transformersjs.toFixed(3)}x docs/s`);
console.log(`ours fp32 vs bare session.run on the same batches:       ${figures.encoder_vs_session_run.toFixed(3)}x`);
console.log(`fp32 optimised graph vs stock graph (ours):               ${ratio(get('ours-fp32-opt'), fp32).toFixed(3)}x`);
console.log(
  `int8 speed-up vs fp32 (ours): registry ${ratio(get('ours-int8-registry'), fp32).toFixed(3)}x, per-channel ${ratio(get('ours-int8-per-channel'), fp32).toFixed(3)}x (default: ${DEFAULT_INT8_SOURCE})`,
);
const overhead = sessionRunOverhead(fp32, get('bare-fp32'), get('bare-fp32-control'));
console.log(
  `  paired by slice: median ${overhead.median_slice_ratio.toFixed(3)}x; CPU seconds (all threads) bare/ours ${overhead.cpu_ratio.toFixed(3)}; ` +
    `A/A control (bare vs bare): ${overhead.control.ratio.toFixed(3)}x, slice ratios ${overhead.control.slice_ratio_p10.toFixed(3)}-${overhead.control.slice_ratio_p90.toFixed(3)} (p10-p90)`,
);
if (values.chunks) {
  const chunks = get('ours-fp32-chunks');
  const truncated = get('ours-fp32-truncated');
  console.log(
    `ours fp32 embedChunks (whole docs, ${chunks.tokens} tokens): ${(texts.length / chunks.seconds).toFixed(1)} docs/s vs truncated ${(texts.length / truncated.seconds).toFixed(1)} docs/s`,
  );
}
const loadEnd = loadavg();
console.log(`load average at end: ${loadEnd.map((x) => x.toFixed(2)).join(' ')}`);

const ndcg = values.ndcg ? await measureNdcgLoss(values.ndcg) : undefined;
if (values.json) {
  const report = {
    ...figures,
    int8_ndcg_loss: ndcg ? ndcg.fp32 - ndcg[DEFAULT_INT8_SOURCE] : null,
    ...(!ndcg && {
      int8_ndcg_loss_not_measured: INT8_NDCG_PROVENANCE,
      int8_ndcg_loss_reference: { value: 0.0012, what: 'per-channel int8, SciFact train, issue 11 session 3' },
    }),
    details: {
      command: `node --import tsx test/bench/encoder-throughput.ts ${process.argv.slice(2).join(' ')}`,
      date: new Date().toISOString(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      load_average: { start: loadStart, end: loadEnd },
      docs: texts.length,
      tokens: truncatedTokens,
      truncation: FP32.maxTokens,
      baseline: `@huggingface/transformers ${env.version}, batches of ${baselineBatch}`,
      docs_per_s: Object.fromEntries([...results.values()].map((m) => [m.key, texts.length / m.seconds])),
      encoder_vs_session_run: overhead,
      optimized_vs_stock: ratio(get('ours-fp32-opt'), fp32),
      int8_speedup_by_source: {
        registry: ratio(get('ours-int8-registry'), fp32),
        'per-channel': ratio(get('ours-int8-per-channel'), fp32),
      },
      int8_source: DEFAULT_INT8_SOURCE,
      int8_cosine_vs_fp32: int8Agreement,
      agreement,
      ndcg_at_10: ndcg ?? null,
    },
  };
  await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${values.json}`);
}
if (failures.length > 0) throw new Error(`encoder-throughput checks failed:\n  ${failures.join('\n  ')}`);

/**
 * encoder_vs_session_run three ways, with the noise they carry: the ratio of total times (the
 * report's figure), the median of per-slice ratios (both sides ran the same slice minutes apart at
 * most, so a load burst on one slice weighs once), and process CPU seconds (what each side made
 * every thread do; nearly blind to other processes). The A/A control is a second bare session on
 * the same batches: whatever its ratio strays from 1 is this run's noise, not the encoder.
 */
function sessionRunOverhead(ours: Measurement, bare: Measurement, control: Measurement) {
  const sliceRatios = (a: Measurement, b: Measurement): number[] => b.sliceSeconds.map((seconds, i) => seconds / a.sliceSeconds[i]!);
  const controlRatios = sliceRatios(control, bare);
  return {
    ratio: bare.seconds / ours.seconds,
    median_slice_ratio: quantile(sliceRatios(ours, bare), 0.5),
    cpu_ratio: bare.cpuSeconds / ours.cpuSeconds,
    cpu_seconds: { ours: ours.cpuSeconds, bare: bare.cpuSeconds },
    slices: ours.sliceSeconds.length,
    control: {
      ratio: bare.seconds / control.seconds,
      median_slice_ratio: quantile(controlRatios, 0.5),
      slice_ratio_p10: quantile(controlRatios, 0.1),
      slice_ratio_p90: quantile(controlRatios, 0.9),
      cpu_ratio: bare.cpuSeconds / control.cpuSeconds,
    },
  };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/**
 * nDCG@10 through the whole pipeline (`searchbus eval`: ingest topic, encoder consumer, Qdrant,
 * query consumer, Redis reply) for fp32 and both int8 sources. Needs the services of
 * `searchbus infra run --` in the environment; each variant indexes into its own namespace.
 */
async function measureNdcgLoss(dir: string): Promise<Record<'fp32' | Int8Source, number>> {
  const variants: Array<[key: 'fp32' | Int8Source, model: string, source: Int8Source]> = [
    ['fp32', FP32.id, 'registry'],
    ['registry', INT8.id, 'registry'],
    ['per-channel', INT8.id, 'per-channel'],
  ];
  const out: Partial<Record<'fp32' | Int8Source, number>> = {};
  for (const [key, model, source] of variants) {
    console.log(
      `nDCG@10: searchbus eval ${dir} --split train with ${model} (${key}); load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    const stdout = await runCli(['eval', dir, '--split', 'train', '--json', '--namespace', `bench-ndcg-${key}`], {
      SEARCHBUS_MODEL: model,
      SEARCHBUS_INT8_SOURCE: source,
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    out[key] = (JSON.parse(line) as { ndcg_at_10: number }).ndcg_at_10;
    console.log(`  nDCG@10 ${out[key].toFixed(4)}`);
  }
  return { fp32: out.fp32!, registry: out.registry!, 'per-channel': out['per-channel']! };
}

function runCli(args: string[], extraEnv: Record<string, string>): Promise<string> {
  const bin = new URL('../../infra/cli/bin.mjs', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`searchbus ${args.join(' ')} exited with ${code}`))));
  });
}

/** Loads every side, warms each up, then times them on the same texts, slice by slice in turn. */
async function measureGroup(loaders: Array<() => Promise<Runner>>): Promise<Measurement[]> {
  const runners: Runner[] = [];
  try {
    for (const load of loaders) runners.push(await load());
    for (const runner of runners) await runner.run(warmupTexts);
    const seconds = runners.map(() => 0);
    const cpu = runners.map(() => 0);
    const sliceSeconds = runners.map((): number[] => []);
    const vectors = runners.map((): Float32Array[][] => []);
    for (let start = 0, round = 0; start < texts.length; start += sliceSize, round++) {
      const slice = texts.slice(start, start + sliceSize);
      for (let k = 0; k < runners.length; k++) {
        const j = (k + round) % runners.length;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const output = await runners[j]!.run(slice);
        const took = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpuBefore);
        seconds[j]! += took;
        sliceSeconds[j]!.push(took);
        cpu[j]! += (used.user + used.system) / 1e6;
        vectors[j]!.push(...output);
      }
    }
    const measurements: Measurement[] = [];
    for (const [j, runner] of runners.entries()) {
      const label = runner.label.padEnd(LABEL_WIDTH);
      measurements.push({
        key: runner.key,
        label,
        seconds: seconds[j]!,
        sliceSeconds: sliceSeconds[j]!,
        cpuSeconds: cpu[j]!,
        tokens: runner.tokens(),
        vectors: vectors[j]!,
        sample: await runner.sample(),
      });
    }
    return measurements;
  } finally {
    for (const runner of runners) await runner.close();
  }
}

async function oursRunner(
  key: string,
  label: string,
  spec: ModelSpec,
  mode: Mode,
  threads: number | undefined,
  choice: { graph?: EncoderGraph; int8Source?: Int8Source },
): Promise<Runner> {
  // An encoder per side: its word cache holds the warm-up texts, never texts timed by another side.
  const encoder = await loadEncoder(spec, { ...choice, ...(threads && { intraOpThreads: threads }) });
  return {
    key,
    label,
    run: (batch) => runOurs(encoder, batch, mode),
    tokens: () =>
      mode === 'chunks' ? texts.reduce((sum, text) => sum + encoder.chunk(text).reduce((n, c) => n + c.ids.length, 0), 0) : truncatedTokens,
    sample: async () => {
      const sample: Float32Array[] = [];
      if (mode === 'truncated') for (const i of sampleIndices) sample.push(...(await encoder.embed([texts[i]!])));
      return sample;
    },
    close: () => encoder.close(),
  };
}

/**
 * onnxruntime alone: the same file and session options as our encoder, fed exactly the batches our
 * encoder forms (length-sorted, token budget), tokenised and padded before the clock starts.
 */
async function bareRunner(key: string, label: string, onnxPath: string, threads: number | undefined): Promise<Runner> {
  const session = await ort.InferenceSession.create(
    onnxPath,
    sessionOptions({ allowSpinning: false, ...(threads && { intraOpNumThreads: threads }) }),
  );
  const prepared = new Map<string, Array<Record<string, ort.Tensor>>>();
  const feedsFor = (batch: readonly string[]): Array<Record<string, ort.Tensor>> => {
    const sequences = batch.map((text) => counter.encode(text, { maxTokens: FP32.maxTokens }).ids);
    const limits = { batchSize: DEFAULT_BATCH_SIZE, maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS };
    // The batches our encoder releases for this call (texts tokenised longest first by characters).
    return streamedBatches(
      longestTextsFirst(batch),
      sequences.map((ids) => ids.length),
      limits,
    ).map((rows) => {
      const padded = padBatch(
        rows.map((row) => sequences[row]!),
        counter.padId,
      );
      const shape = [padded.batchSize, padded.sequenceLength];
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const data =
          name === 'input_ids'
            ? padded.inputIds
            : name === 'attention_mask'
              ? padded.attentionMask
              : new BigInt64Array(padded.inputIds.length);
        feeds[name] = new ort.Tensor('int64', data, shape);
      }
      return feeds;
    });
  };
  // Every timed slice is prepared now, so the clock sees session.run alone.
  for (let start = 0; start < texts.length; start += sliceSize) {
    const slice = texts.slice(start, start + sliceSize);
    prepared.set(slice[0]!, feedsFor(slice));
  }
  return {
    key,
    label,
    run: async (batch) => {
      for (const feeds of prepared.get(batch[0]!) ?? feedsFor(batch)) await session.run(feeds);
      return batch.map(() => []);
    },
    tokens: () => truncatedTokens,
    sample: () => Promise.resolve([]),
    close: () => session.release(),
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
