export { EncoderConsumer, type EncoderConsumerOptions } from './encoder-consumer.ts';
export { indexDocuments, documentText, type IndexContext, type IndexResult } from './index-documents.ts';
