export { EncoderConsumer, type EncoderConsumerOptions } from './encoder-consumer.ts';
export { indexDocuments, documentText, latestPerDocument, DEFAULT_GROUP_SIZE, type IndexContext, type IndexResult } from './index-documents.ts';
export { encodeAndWrite, inGroups } from './write-pipeline.ts';
