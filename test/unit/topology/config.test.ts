import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, createTopology, parseCollectionName, topicSpecs } from '../../../topology/index.ts';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    assert.equal(config.namespace, 'searchbus');
    assert.equal(config.model.id, 'bge-small-en-v1.5');
    assert.equal(config.encoder.maxBatchSize, 64);
    assert.equal(config.startTimeoutMs, 60_000);
    assert.equal(loadConfig({ SEARCHBUS_START_TIMEOUT_MS: '5000' }).startTimeoutMs, 5000);
  });

  it('picks the speech model, tiny unless SEARCHBUS_SPEECH_MODEL says base, and transcribes only when SEARCHBUS_SPEECH_TO_TEXT is true', () => {
    assert.equal(loadConfig({}).media.speechModel.id, 'moonshine-tiny-en');
    assert.equal(loadConfig({ SEARCHBUS_SPEECH_MODEL: 'base' }).media.speechModel.id, 'moonshine-base-en');
    assert.equal(loadConfig({}).media.speechToText, true);
    assert.equal(loadConfig({ SEARCHBUS_SPEECH_TO_TEXT: 'false' }).media.speechToText, false);
  });

  it('reads the hybrid fusion settings', () => {
    const { query } = loadConfig({ SEARCHBUS_QUERY_FUSION: 'rrf', SEARCHBUS_QUERY_RRF_K: '10', SEARCHBUS_QUERY_SPARSE_WEIGHT: '0.25' });
    assert.deepEqual([query.fusion, query.rrfK, query.sparseWeight], ['rrf', 10, 0.25]);
    assert.equal(loadConfig({ SEARCHBUS_SPARSE_ANALYZER: 'en-porter-v1' }).sparseAnalyzer?.id, 'en-porter-v1');
  });

  it('gives the query group a 10 s session unless SEARCHBUS_QUERY_SESSION_TIMEOUT_MS says otherwise', () => {
    assert.equal(loadConfig({}).query.sessionTimeoutMs, 10_000);
    assert.equal(loadConfig({ SEARCHBUS_QUERY_SESSION_TIMEOUT_MS: '6000' }).query.sessionTimeoutMs, 6_000);
  });

  it('fails naming the setting', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ SEARCHBUS_ENCODER_MAX_BATCH_SIZE: 'lots' }, 'SEARCHBUS_ENCODER_MAX_BATCH_SIZE'],
      [{ SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '0' }, 'SEARCHBUS_ENCODER_MAX_BATCH_SIZE'],
      [{ SEARCHBUS_MODEL: 'no-such-model' }, 'SEARCHBUS_MODEL'],
      [{ SEARCHBUS_NAMESPACE: 'Bad Name' }, 'SEARCHBUS_NAMESPACE'],
      [{ SEARCHBUS_MODEL: 'all-minilm-l6-v2', SEARCHBUS_CHUNK_OVERLAP_TOKENS: '300' }, 'SEARCHBUS_CHUNK_OVERLAP_TOKENS'],
      [{ SEARCHBUS_CHUNK_OVERLAP_TOKENS: '600' }, 'SEARCHBUS_CHUNK_OVERLAP_TOKENS'],
      [{ SEARCHBUS_TOPIC_REPLICATION_FACTOR: '0' }, 'SEARCHBUS_TOPIC_REPLICATION_FACTOR'],
      [{ SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: 'two' }, 'SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS'],
      [{ SEARCHBUS_TOPIC_REPLICATION_FACTOR: '2', SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: '3' }, 'SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS'],
      [{ SEARCHBUS_START_TIMEOUT_MS: 'soon' }, 'SEARCHBUS_START_TIMEOUT_MS'],
      [{ SEARCHBUS_START_TIMEOUT_MS: '0' }, 'SEARCHBUS_START_TIMEOUT_MS'],
      [{ SEARCHBUS_QUERY_RRF_K: '0' }, 'SEARCHBUS_QUERY_RRF_K'],
      [{ SEARCHBUS_QUERY_SPARSE_WEIGHT: '1.5' }, 'SEARCHBUS_QUERY_SPARSE_WEIGHT'],
      [{ SEARCHBUS_QUERY_SPARSE_WEIGHT: 'half' }, 'SEARCHBUS_QUERY_SPARSE_WEIGHT'],
      [{ SEARCHBUS_SPARSE_ANALYZER: 'en-porter-v9' }, 'SEARCHBUS_SPARSE_ANALYZER'],
      [{ SEARCHBUS_SPEECH_MODEL: 'large' }, 'SEARCHBUS_SPEECH_MODEL'],
      [{ SEARCHBUS_SPEECH_TO_TEXT: 'yes' }, 'SEARCHBUS_SPEECH_TO_TEXT'],
      [{ SEARCHBUS_QUERY_SESSION_TIMEOUT_MS: '999' }, 'SEARCHBUS_QUERY_SESSION_TIMEOUT_MS'],
      [{ SEARCHBUS_QUERY_SESSION_TIMEOUT_MS: '10s' }, 'SEARCHBUS_QUERY_SESSION_TIMEOUT_MS'],
    ];
    for (const [env, setting] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.setting === setting && error.message.startsWith(setting),
      );
    }
  });
});

describe('re-index lease settings', () => {
  it('default to a 30 s fence lease and three stalls', () => {
    const config = loadConfig({});
    assert.equal(config.reindex.fenceLeaseMs, 30_000);
    assert.equal(config.reindex.maxStalledCount, 3);
  });

  it('refuse a lease shorter than three progress intervals, naming the setting', () => {
    assert.throws(
      () => loadConfig({ SEARCHBUS_FENCE_LEASE_MS: '2000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '1000' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'SEARCHBUS_FENCE_LEASE_MS' &&
        /three times SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS/.test(error.message),
    );
    assert.equal(
      loadConfig({ SEARCHBUS_FENCE_LEASE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '1000' }).reindex.fenceLeaseMs,
      3000,
    );
  });

  it('refuse malformed values', () => {
    for (const [env, setting] of [
      [{ SEARCHBUS_FENCE_LEASE_MS: '500' }, 'SEARCHBUS_FENCE_LEASE_MS'],
      [{ SEARCHBUS_FENCE_LEASE_MS: 'soon' }, 'SEARCHBUS_FENCE_LEASE_MS'],
      [{ SEARCHBUS_REINDEX_MAX_STALLED_COUNT: '-1' }, 'SEARCHBUS_REINDEX_MAX_STALLED_COUNT'],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.setting === setting,
      );
    }
  });
});

describe('topic replication', () => {
  it("leaves replication to the broker's defaults unless set", () => {
    const specs = topicSpecs(createTopology('t-1'), loadConfig({}));
    for (const spec of specs) {
      assert.equal(spec.replicationFactor, null, spec.topic);
      assert.equal(spec.configs['min.insync.replicas'], undefined, spec.topic);
    }
  });

  it('gives every topic the replication factor and min.insync.replicas set', () => {
    const config = loadConfig({ SEARCHBUS_TOPIC_REPLICATION_FACTOR: '3', SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    const specs = topicSpecs(createTopology('t-1'), config);
    assert.equal(specs.length, 5);
    for (const spec of specs) {
      assert.equal(spec.replicationFactor, 3, spec.topic);
      assert.equal(spec.configs['min.insync.replicas'], '2', spec.topic);
    }
    assert.equal(specs[0]?.configs['cleanup.policy'], 'compact', 'the ingest topic keeps its own settings');
  });
});

describe('topology names', () => {
  it('derives every name from the namespace', () => {
    const t = createTopology('t-1');
    assert.equal(t.topics.ingest, 't-1.documents');
    assert.equal(t.qdrant.alias, 't-1-documents');
    assert.deepEqual(parseCollectionName(t.qdrant.collection('all-minilm-l6-v2-q', 3)), {
      alias: 't-1-documents',
      modelId: 'all-minilm-l6-v2-q',
      version: 3,
    });
    assert.equal(parseCollectionName('plain-collection'), null);
  });
});

describe('tracing endpoint', () => {
  it('is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and must be an http(s) URL', () => {
    assert.equal(loadConfig({}).otlpEndpoint, null);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }).otlpEndpoint, null);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlpEndpoint, 'http://collector:4318');
    for (const bad of ['collector:4318x', 'not a url', 'ftp://collector']) {
      assert.throws(
        () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: bad }),
        (error: unknown) => error instanceof ConfigError && error.setting === 'OTEL_EXPORTER_OTLP_ENDPOINT',
        bad,
      );
    }
  });
});
