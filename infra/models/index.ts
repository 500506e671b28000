export { ensureModel, sha256File, type EnsureModelOptions, type ModelFiles } from './fetch-model.ts';
export { ModelArtifactNotFoundError, ModelFileMissingError, ModelIntegrityError, MediaModelIntegrityError, MediaModelConversionError } from './model-errors.ts';
export { listZipEntries, extractZipEntry, ZipFormatError, type ZipEntry } from './zip-reader.ts';
export {
  ensureImageModel,
  ensureAudioModel,
  type ImageModelFiles,
  type AudioModelFiles,
  type EnsureMediaModelOptions,
} from './media-models.ts';
