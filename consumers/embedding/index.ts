export { OnnxEncoder, padBatch, DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS } from './text/onnx-encoder.ts';
export { LengthBatcher, longestTextsFirst, planBatches, streamedBatches } from './text/length-batcher.ts';
export { WordPieceTokenizer } from './text/wordpiece-tokenizer.ts';
export { chunkTokens, DEFAULT_OVERLAP_TOKENS } from './text/chunker.ts';
export { cosineSimilarity } from './inference/pooling.ts';
export { documentEncoder, type DocumentEncoder } from './text/document-encoder.ts';
export { sessionOptions } from './inference/pooled-session.ts';
export { SparseAnalyzer, sparseAnalyzer, type SparseVector } from './text/sparse-analyzer.ts';
export { ImageEmbedder } from './media/image-embedder.ts';
export { imageLabels, labelText, type ImageLabel } from './media/image-labels.ts';
export { normalise } from './media/image-preprocess.ts';
export { AudioEmbedder, meanVector } from './media/audio-embedder.ts';
export { decodeAudio } from './media/audio-decode.ts';
export { SpeechTranscriber, TranscriptionFailure } from './media/speech-transcriber.ts';
export { SpeechTokenizer } from './media/speech-tokenizer.ts';
export { energyEnvelope, speechSegments, DEFAULT_SEGMENT_OPTIONS } from './media/speech-segments.ts';
export { cleanText, DOCUMENT_EXTRACTORS, extractDocument, type CodeSpan, type TextSegment } from './documents/document-text.ts';
export { codeSegments } from './code/code-chunks.ts';
export { codeTerms, identifierPieces } from './code/code-terms.ts';
export { withSyntaxTree, type SyntaxNode } from './code/code-parser.ts';
export { renderPage } from './documents/pdf-text.ts';
export { OcrEngine } from './documents/ocr-engine.ts';
export { imageThumbnail, THUMBNAIL_MAX_SIDE } from './media/image-thumbnail.ts';
export {
  mediaEncoder,
  mediaEncoderSettings,
  mediaModality,
  type MediaEncoder,
  type MediaEncoderOptions,
  type MediaModelFiles,
  type VideoEmbedding,
} from './media/media-encoder.ts';
export { parseProbe, parseShowinfoTimes, probeVideo, sampleFrames, samplingIntervalSeconds } from './media/video-frames.ts';
export { videoTimeline } from './media/video-timeline.ts';
