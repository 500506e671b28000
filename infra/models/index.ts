export { ensureModel, sha256File, type EnsureModelOptions, type ModelFiles } from './fetch-model.ts';
export { ModelArtifactNotFoundError, ModelFileMissingError, ModelIntegrityError, MediaModelIntegrityError, MediaModelConversionError } from './model-errors.ts';
export { listZipEntries, extractZipEntry, ZipFormatError, type ZipEntry } from './zip-reader.ts';
export { ensureAllEncoderFiles, ensureEncoderFiles, derivedPath, type EncoderModelFiles, type ModelVariantChoice } from './derive-model.ts';
export { ensureGraphToolsVenv } from './graph-tools-venv.ts';
export { DerivedModelIntegrityError, DerivedModelUnavailableError } from './model-errors.ts';
export {
  ensureImageModel,
  ensureAudioModel,
  type ImageModelFiles,
  type AudioModelFiles,
  type EnsureMediaModelOptions,
} from './media-model-files.ts';
export { loadEncoder, cachedMediaEncoder, CACHED_MEDIA_MODELS } from './load-encoder.ts';
