// Which ONNX file of a model the encoder runs. Besides the registry's own file, `setup` can derive
// two files from a registry fp32 model with onnxruntime's offline tools (infra/models/graph-tools):
// a graph with BERT fusions (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization)
// and a per-channel dynamic int8 quantisation. Each derived file is pinned by its sha256 here: the
// tools and their dependencies are pinned too, and the output was byte-identical across runs.

/** fp32 models: the registry's graph as published, or the transformer optimizer's fused graph. */
export type EncoderGraph = 'stock' | 'optimized';
/** int8 (`-q`) models: the registry's int8 file, or a per-channel dynamic quantisation of the fp32 file. */
export type Int8Source = 'registry' | 'per-channel';

export const ENCODER_GRAPHS: readonly EncoderGraph[] = ['stock', 'optimized'];
export const INT8_SOURCES: readonly Int8Source[] = ['registry', 'per-channel'];

// Measured by test/bench/encoder-speed.ts (README, Measured): on onnxruntime-node 1.30 the fused
// graph was slower than the stock one, whose own load-time fusions suit the CPU kernels better.
export const DEFAULT_ENCODER_GRAPH: EncoderGraph = 'stock';
export const DEFAULT_INT8_SOURCE: Int8Source = 'per-channel';

export type DerivedKind = 'optimized' | 'int8-per-channel';

export interface DerivedPin {
  readonly sha256: string;
  readonly bytes: number;
}

/** By fp32 model id: the pins of the files derived from its registry ONNX file. */
export const DERIVED_MODEL_PINS: Readonly<Record<string, Readonly<Record<DerivedKind, DerivedPin>>>> = {
  'all-minilm-l6-v2': {
    optimized: { sha256: '45c66142df23164ca9437aafeeb91dc9dddaf8b0858c703fa8d28e760e11714f', bytes: 90_276_658 },
    'int8-per-channel': { sha256: 'abf8f6288439f191eaf877442c6ea0d743a8c7a0b9da61f63f412b2715ae7578', bytes: 22_972_932 },
  },
};
