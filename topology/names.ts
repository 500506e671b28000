// Every name searchbus puts on the wire or in a store, derived from one namespace. Tests get a
// fresh namespace each, so they never share a topic, group, key, queue or collection.

export interface Topology {
  readonly namespace: string;
  readonly topics: {
    /** Documents keyed `<tenant>/<id>`; a null value deletes. Compacted: the source of truth for re-indexing. */
    readonly ingest: string;
    /** Messages no consumer could process, with the original bytes and error headers. */
    readonly deadLetter: string;
    /** Search requests keyed by request id. */
    readonly searchRequests: string;
    /** The index change feed: one event per document a live encoder indexed or deleted, keyed `<tenant>/<id>`. */
    readonly indexed: string;
    /** One event per (watch, document version) that matched, keyed by watch id. */
    readonly matches: string;
  };
  readonly groups: {
    readonly encoder: string;
    /** Live encoders of documents with media (images, audio), beside the text group on the same topic. */
    readonly mediaEncoder: string;
    readonly query: string;
    /** The watch matcher, reading the index change feed. */
    readonly watchMatcher: string;
    /** One group per rebuild, so a rebuild replays from the earliest offset without touching live offsets. */
    reindex(targetCollection: string): string;
  };
  readonly redis: {
    /** Channel the query consumer publishes a reply to; the client subscribes before it asks. */
    replyChannel(clientId: string): string;
    /** Hash of the members of a consumer group that one instance (host) runs: member id -> its process and when it last said it was alive. */
    groupMembers(groupId: string, instance: string): string;
    readonly keyPrefix: string;
  };
  readonly queues: {
    readonly reindex: string;
  };
  readonly qdrant: {
    /** What query consumers search; always points at a complete collection. */
    readonly alias: string;
    /**
     * `<alias>__<model>__v<version>`: a rebuild creates the next version beside the live one. The
     * name carries the model, so resolving the alias tells a query consumer which model to embed
     * with, atomically with the swap and on any Qdrant version.
     */
    collection(modelId: string, version: number): string;
    /**
     * `<namespace>-watches__<model>`: the stored queries (watches) embedded with that model, one
     * collection per model, beside the documents' collections; the matcher uses the one of the
     * model behind the alias.
     */
    watchCollection(modelId: string): string;
  };
}

export const DEFAULT_NAMESPACE = 'searchbus';
const NAMESPACE_PATTERN = /^[a-z][a-z0-9-]{0,47}$/;

export function isValidNamespace(namespace: string): boolean {
  return NAMESPACE_PATTERN.test(namespace);
}

export function createTopology(namespace: string = DEFAULT_NAMESPACE): Topology {
  if (!isValidNamespace(namespace)) {
    throw new TypeError(`namespace must match ${String(NAMESPACE_PATTERN)}, got "${namespace}"`);
  }
  const alias = `${namespace}-documents`;
  return {
    namespace,
    topics: {
      ingest: `${namespace}.documents`,
      deadLetter: `${namespace}.documents.dlq`,
      searchRequests: `${namespace}.search.requests`,
      indexed: `${namespace}.indexed`,
      matches: `${namespace}.matches`,
    },
    groups: {
      encoder: `${namespace}.encoder`,
      mediaEncoder: `${namespace}.encoder.media`,
      query: `${namespace}.query`,
      watchMatcher: `${namespace}.watch-matcher`,
      reindex: (targetCollection) => `${namespace}.reindex.${targetCollection}`,
    },
    redis: {
      keyPrefix: `${namespace}:`,
      replyChannel: (clientId) => `${namespace}:reply:${clientId}`,
      groupMembers: (groupId, instance) => `${namespace}:group-members:${groupId}:${instance}`,
    },
    queues: { reindex: `${namespace}-reindex` },
    qdrant: {
      alias,
      collection: (modelId, version) => `${alias}__${modelId}__v${version}`,
      watchCollection: (modelId) => `${namespace}-watches__${modelId}`,
    },
  };
}

/** Kafka header names; the dead-letter ones let an operator replay a message to where it came from. */
export const HEADERS = {
  errorCode: 'searchbus-error-code',
  errorMessage: 'searchbus-error-message',
  sourceTopic: 'searchbus-source-topic',
  sourcePartition: 'searchbus-source-partition',
  sourceOffset: 'searchbus-source-offset',
  failedAt: 'searchbus-failed-at',
  consumerGroup: 'searchbus-consumer-group',
  /** On search requests: where to reply even if the body cannot be parsed. */
  replyTo: 'searchbus-reply-to',
  /** W3C trace context of the span that produced the record (ingest publish, search request). */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** The trace-context headers, also the names of the search request's trace fields. */
export const TRACE_HEADERS = [HEADERS.traceparent, HEADERS.tracestate] as const;

export interface CollectionName {
  alias: string;
  modelId: string;
  version: number;
}

export function parseCollectionName(name: string): CollectionName | null {
  const match = /^(.+)__([a-z0-9][a-z0-9.-]*)__v(\d+)$/.exec(name);
  if (!match) return null;
  return { alias: match[1] ?? '', modelId: match[2] ?? '', version: Number(match[3]) };
}

/** The OAuth scope (JWT `scope` or `scp` claim) that lets a caller use the gateway's /admin/ endpoints. */
export const GATEWAY_ADMIN_SCOPE = 'searchbus:admin';
