import type { ModelSpec } from '../../topology/models.ts';
import { ensureModel } from '../../infra/models/index.ts';
import { OnnxEncoder } from './onnx-encoder.ts';

/** What the encoder consumer needs from a model: chunk each document and embed every chunk. */
export interface DocumentEncoder {
  readonly modelId: string;
  encodeDocuments(texts: string[]): Promise<Array<Array<{ text: string; vector: Float32Array }>>>;
}

export function documentEncoder(encoder: OnnxEncoder): DocumentEncoder {
  return {
    modelId: encoder.spec.id,
    encodeDocuments: async (texts) =>
      (await encoder.embedChunks(texts, { inputType: 'document' })).map((chunks) => chunks.map((c) => ({ text: c.text, vector: c.vector }))),
  };
}

/** Fetches (once, verified) and loads a model for the settings' thread count and chunk overlap. */
export async function loadEncoder(
  spec: ModelSpec,
  options: { intraOpThreads?: number; overlapTokens?: number; log?: (line: string) => void } = {},
): Promise<OnnxEncoder> {
  const files = await ensureModel(spec, options.log ? { log: options.log } : {});
  return OnnxEncoder.load(spec, files, {
    ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.overlapTokens !== undefined ? { overlapTokens: options.overlapTokens } : {}),
  });
}
