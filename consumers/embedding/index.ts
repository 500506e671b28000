export { OnnxEncoder, padBatch, DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, type EmbeddedChunk, type InputType, type ModelFilePaths, type OnnxEncoderConfig, type OnnxEncoderOptions } from './text/onnx-encoder.ts';
export { LengthBatcher, longestTextsFirst, planBatches, streamedBatches, type BatchLimits } from './text/length-batcher.ts';
export { WordPieceTokenizer, type EncodedText, type Span, type TokenizedText, type WordPieceConfig } from './text/wordpiece-tokenizer.ts';
export { chunkTokens, validateChunkingOptions, windowCapacity, DEFAULT_OVERLAP_TOKENS, type Chunk, type ChunkingOptions } from './text/chunker.ts';
export { clsPool, cosineSimilarity, l2Normalize, meanPool, pool, type TokenEmbeddings } from './inference/pooling.ts';
export { documentEncoder, type DocumentEncoder } from './text/document-encoder.ts';
export { sessionOptions, type PaddedBatch, type SessionConfig } from './inference/pooled-session.ts';
export { SparseAnalyzer, sparseAnalyzer, type SparseVector } from './text/sparse-analyzer.ts';
export { ImageEmbedder, type ImageEmbedderOptions, type ImageEmbedding } from './media/image-embedder.ts';
export { preprocessImage, normalise, type PreprocessedImage } from './media/image-preprocess.ts';
export {
  AudioEmbedder,
  meanVector,
  type AudioEmbedderOptions,
  type AudioEmbedding,
  type AudioModelPaths,
  type AudioSegment,
  type AudioWindow,
} from './media/audio-embedder.ts';
export { decodeAudio, type DecodeAudioOptions } from './media/audio-decode.ts';
export { cleanText, DOCUMENT_EXTRACTORS, extractDocument, type ExtractOptions, type TextSegment } from './documents/document-text.ts';
export { DEFAULT_OCR_DPI, pdfPages, renderPage, type PageText, type PdfOptions } from './documents/pdf-text.ts';
export { OcrEngine, engLangPath, type OcrOptions, type OcrResult } from './documents/ocr-engine.ts';
export { readMedia, type MediaSourceLimits } from './media/media-source.ts';
export { imageThumbnail, THUMBNAIL_MAX_SIDE } from './media/image-thumbnail.ts';
export { DEFAULT_FRAME_SAMPLING, mediaEncoder, mediaEncoderSettings, mediaModality, type MediaEncoder, type MediaEncoderOptions, type MediaModelFiles, type TimedVector, type VideoEmbedding } from './media/media-encoder.ts';
export { parseProbe, parseShowinfoTimes, probeVideo, sampleFrames, samplingIntervalSeconds, type FrameSampling, type SampledFrame, type VideoProbe, type VideoTools } from './media/video-frames.ts';
export { videoTimeline, type TimelinePoint } from './media/video-timeline.ts';
