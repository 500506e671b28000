export { ensureModel, sha256File, type ModelFiles } from './fetch-model.ts';
export { ensureAllEncoderFiles, ensureEncoderFiles } from './derive-model.ts';
export { ensureImageModel, ensureAudioModel, ensureSpeechModel, type AudioModelFiles } from './media-model-files.ts';
export { loadEncoder, cachedMediaEncoder, encoderCache } from './load-encoder.ts';
