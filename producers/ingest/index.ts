export { IngestProducer, type IngestProducerOptions, type DocumentInput, type DocumentRef } from './ingest-producer.ts';
export { openDocumentSource, parseLine, type DocumentSource, type SourceRecord } from './document-source.ts';
export { migrateKeys, planKeyMigration, type KeyMigrationResult } from './key-migration.ts';
export { fileDocument, listFiles, type FolderRecord } from './folder-source.ts';
