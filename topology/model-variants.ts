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
  'e5-small-v2': {
    optimized: { sha256: '42f5aef6475ecaa243b516ba3c7a63555e778175583c82f528582b88e91f8cf7', bytes: 132_878_053 },
    'int8-per-channel': { sha256: '04ddb223895cf6e0af0206136c9e0690678f5f4641c8d36c8573a9b53d0bd260', bytes: 34_015_049 },
  },
  'bge-small-en-v1.5': {
    optimized: { sha256: 'c3f8bf4a16f933fcca868a2903a2f373be3d8f8ee7f62b7e8a7e7aa110bef36b', bytes: 132_878_053 },
    'int8-per-channel': { sha256: 'f8b2217838ea27564f870f96e377cb6e5ca0fa37dec9599cf305d5de011d6b7f', bytes: 34_015_106 },
  },
};
