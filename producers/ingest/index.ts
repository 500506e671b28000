export { IngestProducer, type IngestProducerOptions, type DocumentInput, type DocumentRef } from './ingest-producer.ts';
export { openDocumentSource, parseLine, type DocumentSource, type SourceRecord } from './document-source.ts';
export { migrateKeys, planKeyMigration, readLatestRecords, type KeyMigrationPlan, type KeyMigrationResult } from './key-migration.ts';
export { fileDocument, listFiles, type FileKind, type FolderRecord, type FolderSourceOptions } from './folder-source.ts';
