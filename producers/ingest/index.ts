export { IngestProducer, type IngestProducerOptions, type DocumentInput } from './ingest-producer.ts';
export { openDocumentSource, parseLine, type DocumentSource, type SourceRecord } from './document-source.ts';
