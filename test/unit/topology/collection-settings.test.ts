import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COLLECTION_SETTING_NAMES,
  collectionDrift,
  collectionLayout,
  ConfigError,
  DEFAULT_COLLECTION_SETTINGS,
  loadConfig,
  searchParams,
  sparseVectorName,
  getAnalyzerSpec,
  vectorNamesInOrder,
  vectorsJson,
  type CollectionSettings,
} from '../../../topology/index.ts';

const production: CollectionSettings = {
  shardNumber: 6,
  replicationFactor: 2,
  writeConsistencyFactor: 1,
  vectorsOnDisk: true,
  payloadOnDisk: true,
  quantization: 'int8',
  rescoreOversampling: 3,
  hnswM: 32,
  hnswEfConstruct: 256,
};

describe('collection settings', () => {
  it('default to one machine: one shard and copy, vectors in RAM, payload on disk, no quantization, HNSW 16/100', () => {
    assert.deepEqual(loadConfig({}).qdrant, DEFAULT_COLLECTION_SETTINGS);
    assert.deepEqual(collectionLayout(DEFAULT_COLLECTION_SETTINGS), {
      shard_number: 1,
      replication_factor: 1,
      write_consistency_factor: 1,
      on_disk_payload: true,
      hnsw_config: { m: 16, ef_construct: 100 },
    });
    assert.equal(searchParams(DEFAULT_COLLECTION_SETTINGS), undefined);
  });

  it('read every setting', () => {
    const config = loadConfig({
      SEARCHBUS_QDRANT_SHARDS: '6',
      SEARCHBUS_QDRANT_REPLICATION_FACTOR: '2',
      SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR: '1',
      SEARCHBUS_QDRANT_VECTORS_ON_DISK: 'true',
      SEARCHBUS_QDRANT_PAYLOAD_ON_DISK: '1',
      SEARCHBUS_QDRANT_QUANTIZATION: 'INT8',
      SEARCHBUS_QDRANT_RESCORE_OVERSAMPLING: '3',
      SEARCHBUS_QDRANT_HNSW_M: '32',
      SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT: '256',
    });
    assert.deepEqual(config.qdrant, production);
    assert.deepEqual(collectionLayout(production).quantization_config, { scalar: { type: 'int8', quantile: 0.99, always_ram: true } });
    assert.deepEqual(searchParams(production), { quantization: { rescore: true, oversampling: 3 } });
  });

  it('refuse bad values naming the setting', () => {
    const refused = (env: Record<string, string>, setting: string): void =>
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.setting === setting,
      );
    refused(
      { SEARCHBUS_QDRANT_REPLICATION_FACTOR: '2', SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR: '3' },
      'SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR',
    );
    refused({ SEARCHBUS_QDRANT_QUANTIZATION: 'binary' }, 'SEARCHBUS_QDRANT_QUANTIZATION');
    refused({ SEARCHBUS_QDRANT_VECTORS_ON_DISK: 'yes' }, 'SEARCHBUS_QDRANT_VECTORS_ON_DISK');
    refused({ SEARCHBUS_QDRANT_SHARDS: '0' }, 'SEARCHBUS_QDRANT_SHARDS');
    refused({ SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT: '3' }, 'SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT');
  });
});

describe('collectionDrift', () => {
  const asQdrantReports = (s: CollectionSettings, vectors: unknown): Parameters<typeof collectionDrift>[1] => {
    const layout = collectionLayout(s);
    return {
      params: {
        vectors,
        shard_number: layout.shard_number,
        replication_factor: layout.replication_factor,
        write_consistency_factor: layout.write_consistency_factor,
        on_disk_payload: layout.on_disk_payload,
      },
      hnsw_config: { ...layout.hnsw_config },
      quantization_config: layout.quantization_config ?? null,
    };
  };

  it('finds nothing when the collection matches, for an unnamed vector and for named ones', () => {
    assert.deepEqual(
      collectionDrift(
        'c',
        asQdrantReports(production, { size: 384, distance: 'Cosine', on_disk: true }),
        production,
        COLLECTION_SETTING_NAMES,
      ),
      [],
    );
    assert.deepEqual(
      collectionDrift(
        'c',
        asQdrantReports(production, { text: { size: 384, distance: 'Cosine', on_disk: true } }),
        production,
        COLLECTION_SETTING_NAMES,
      ),
      [],
    );
  });

  it('names each differing field and its setting; a rescoring factor is a search setting, never drift', () => {
    const actual = asQdrantReports(DEFAULT_COLLECTION_SETTINGS, { text: { size: 384, distance: 'Cosine' } });
    const drift = collectionDrift('c', actual, production, COLLECTION_SETTING_NAMES);
    assert.deepEqual(drift, [
      'collection c has shard_number 1, SEARCHBUS_QDRANT_SHARDS wants 6',
      'collection c has replication_factor 1, SEARCHBUS_QDRANT_REPLICATION_FACTOR wants 2',
      'collection c has vectors.text.on_disk false, SEARCHBUS_QDRANT_VECTORS_ON_DISK wants true',
      'collection c has hnsw_config.m 16, SEARCHBUS_QDRANT_HNSW_M wants 32',
      'collection c has hnsw_config.ef_construct 100, SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT wants 256',
      'collection c has quantization "none", SEARCHBUS_QDRANT_QUANTIZATION wants "int8"',
    ]);
    const otherOversampling = { ...production, rescoreOversampling: 8 };
    assert.deepEqual(
      collectionDrift(
        'c',
        asQdrantReports(production, { size: 384, distance: 'Cosine', on_disk: true }),
        otherOversampling,
        COLLECTION_SETTING_NAMES,
      ),
      [],
    );
  });

  it("walks named vectors in topology's order, whatever the server's map order (issue 24)", () => {
    // Qdrant 1.19 lists named vectors sorted by name (a BTreeMap); topology defines text, image, audio.
    const inRam = { size: 4, distance: 'Cosine', on_disk: false };
    const sorted = { audio: inRam, image: inRam, text: inRam, 'z-extra': inRam, 'a-extra': inRam };
    const onDiskLines = collectionDrift('c', asQdrantReports(production, sorted), production, COLLECTION_SETTING_NAMES).filter((line) =>
      line.includes('.on_disk'),
    );
    assert.deepEqual(
      onDiskLines.map((line) => /vectors\.(\S+)\.on_disk/.exec(line)?.[1]),
      ['text', 'image', 'audio', 'a-extra', 'z-extra'],
    );
    assert.equal(
      vectorsJson(sorted),
      `{"text":${JSON.stringify(inRam)},"image":${JSON.stringify(inRam)},"audio":${JSON.stringify(inRam)},"a-extra":${JSON.stringify(inRam)},"z-extra":${JSON.stringify(inRam)}}`,
    );
    assert.equal(vectorsJson({ size: 4, distance: 'Cosine' }), '{"size":4,"distance":"Cosine"}');
  });

  it('orders dense and sparse vector names as topology defines them, then the rest sorted', () => {
    const v1 = sparseVectorName(getAnalyzerSpec('en-porter-v1'));
    const v2 = sparseVectorName(getAnalyzerSpec('en-porter-v2'));
    assert.deepEqual(vectorNamesInOrder(['audio', 'b', v2, 'image', '10', v1, 'text', '9', 'B']), [
      'text',
      'image',
      'audio',
      v1,
      v2,
      '10',
      '9',
      'B',
      'b',
    ]);
  });

  it('reads what a server left unset as Qdrant defaults it', () => {
    assert.deepEqual(
      collectionDrift(
        'c',
        { params: { vectors: { size: 4, distance: 'Cosine' } }, hnsw_config: { m: 16, ef_construct: 100 } },
        DEFAULT_COLLECTION_SETTINGS,
        COLLECTION_SETTING_NAMES,
      ),
      [],
    );
  });
});
