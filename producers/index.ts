// The package's library entry (`import … from 'searchbus'`): the clients an application embeds,
// with the message contracts and the settings they need. Everything else (roles, CLI, local
// services) is reached through the `searchbus` command; names and settings through
// `searchbus/topology`.
export {
  SearchClient,
  parseFilterArgs,
  type SearchClientOptions,
  type SearchClientStats,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from './search-client/index.ts';
export {
  IngestProducer,
  openDocumentSource,
  parseLine,
  type IngestProducerOptions,
  type DocumentInput,
  type DocumentRef,
  type DocumentSource,
  type SourceRecord,
} from './ingest/index.ts';
// Clients built from the same environment settings the CLI reads (KAFKA_BROKERS, REDIS_URL, … with TLS and SASL).
// createQdrant loads the Qdrant client, which neither client needs: it is `searchbus/qdrant`.
export { createKafka, createRedis, kafkaSettings, redisSettings, qdrantSettings } from '../topology/connections/index.ts';
export type { KafkaEndpoint, RedisEndpoint, QdrantEndpoint } from '../topology/connections/index.ts';
// Contracts: the document and search message schemas, their codecs and types, and the error base.
export * from '../topology/document-schema.ts';
export * from '../topology/search-schema.ts';
// Positions publishing returns and a search may carry as `after`: decode, merge, encode.
export * from '../topology/read-position.ts';
export * from '../topology/document-identity.ts';
export { createTopology, loadConfig, type Topology, type SearchbusConfig, type LifecycleState } from '../topology/index.ts';
// The error root and its kinds: branch on `instanceof` a kind and on `code`, retry on `isRetriable`.
export {
  SearchbusError,
  ConfigError,
  ContractError,
  UnavailableError,
  TimeoutError,
  RejectedError,
  CancelledError,
  CleanupError,
  hasErrorCode,
  isRetriable,
  type SchemaErrorCode,
  type MediaErrorCode,
} from '../topology/index.ts';
