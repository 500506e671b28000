export { EncoderConsumer, feedEvents } from './encoder-consumer.ts';
export { indexDocuments, documentText, latestPerDocument } from './index-documents.ts';
export { encodeAndWrite, inGroups } from './write-pipeline.ts';
