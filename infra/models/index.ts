export { ensureModel, sha256File, type EnsureModelOptions, type ModelFiles } from './fetch-model.ts';
export { listZipEntries, extractZipEntry, type ZipEntry } from './zip-reader.ts';
export { ensureAllEncoderFiles, ensureEncoderFiles, derivedPath, type EncoderModelFiles, type ModelVariantChoice } from './derive-model.ts';
export { ensureGraphToolsVenv } from './graph-tools-venv.ts';
export {
  ensureImageModel,
  ensureAudioModel,
  type ImageModelFiles,
  type AudioModelFiles,
  type EnsureMediaModelOptions,
} from './media-model-files.ts';
export { loadEncoder, cachedMediaEncoder, CACHED_MEDIA_MODELS } from './load-encoder.ts';
