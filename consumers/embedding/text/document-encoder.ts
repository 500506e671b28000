import type { OnnxEncoder } from './onnx-encoder.ts';

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
      (await encoder.embedChunks(texts, { inputType: 'document' })).map((chunks) =>
        chunks.map((c) => ({ text: c.text, vector: c.vector, start: c.charStart, end: c.charEnd })),
      ),
  };
}
