import type { ModelSpec } from '../../topology/models.ts';
import type { EncoderGraph, Int8Source } from '../../topology/model-variants.ts';
import { ensureEncoderFiles } from '../../infra/models/index.ts';
import { OnnxEncoder } from './onnx-encoder.ts';

/** What the encoder consumer needs from a model: chunk each document and embed every chunk. */
export interface DocumentEncoder {
  readonly modelId: string;
  /** Per text, its chunks; `start`/`end` (UTF-16 offsets of the chunk in its text) when known. */
  encodeDocuments(texts: string[]): Promise<Array<Array<{ text: string; vector: Float32Array; start?: number; end?: number }>>>;
}

export function documentEncoder(encoder: OnnxEncoder): DocumentEncoder {
  return {
    modelId: encoder.spec.id,
    encodeDocuments: async (texts) =>
      (await encoder.embedChunks(texts, { inputType: 'document' })).map((chunks) => chunks.map((c) => ({ text: c.text, vector: c.vector, start: c.charStart, end: c.charEnd }))),
  };
}

/**
 * Fetches (once, verified), derives the chosen file variant if needed, and loads a model for the
 * settings' thread count and chunk overlap.
 */
export async function loadEncoder(
  spec: ModelSpec,
  options: { intraOpThreads?: number; overlapTokens?: number; graph?: EncoderGraph; int8Source?: Int8Source; log?: (line: string) => void } = {},
): Promise<OnnxEncoder> {
  const choice = { ...(options.graph && { graph: options.graph }), ...(options.int8Source && { int8Source: options.int8Source }) };
  const files = await ensureEncoderFiles(spec, choice, options.log ? { log: options.log } : {});
  return OnnxEncoder.load(spec, files, {
    ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.overlapTokens !== undefined ? { overlapTokens: options.overlapTokens } : {}),
  });
}
