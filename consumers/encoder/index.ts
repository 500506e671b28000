export { EncoderConsumer, type EncoderConsumerOptions } from './encoder-consumer.ts';
export { indexDocuments, documentText, latestPerDocument, type IndexContext, type IndexResult } from './index-documents.ts';
