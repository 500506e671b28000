export { ensureModel, sha256File, type EnsureModelOptions, type ModelFiles } from './fetch-model.ts';
export { ModelArtifactNotFoundError, ModelFileMissingError, ModelIntegrityError } from './model-errors.ts';
export { listZipEntries, extractZipEntry, ZipFormatError, type ZipEntry } from './zip-reader.ts';
