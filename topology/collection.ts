import type { CodeLanguage } from './code-languages.ts';
import { analyzerIds, findAnalyzerSpec, type AnalyzerSpec } from './analyzers.ts';
import type { ModelSpec } from './models.ts';
import { mediaModelFor, MEDIA_MODELS, type MediaModel } from './media-models.ts';
import { MODALITIES, type MediaKind, type Modality } from './media.ts';

// What a searchbus collection holds: one point per chunk, with this payload.
/**
 * Where a chunk's text came from when it is not the document's own or its file's: `labels`, the
 * classes the image model saw in a photo; `ocr`, the text read in an image; `transcript`, the speech
 * in a recording (with the chunk's `start_ms`/`end_ms`).
 */
export type TextSource = 'labels' | 'ocr' | 'transcript';

/** One class the image model saw in a photo, with its probability (0-1). */
export interface MediaLabel {
  name: string;
  score: number;
}

export interface ChunkPayload {
  doc_id: string;
  chunk: number;
  /** Number of chunks the document had when this point was written. */
  chunks: number;
  title: string;
  /** The chunk's own text (the window of the document it embeds); '' for a medium without text. */
  text: string;
  /**
   * The document's medium: its MIME type and, when it came by reference, its uri (never inline
   * bytes); `model` is the media model, or for a document file the extractor that read its text.
   * A video's points each hold a sampled frame (`image` vector) and/or a segment of its audio track
   * (`audio` vector); `at` is that moment, in seconds from the start of the video. For an image, a
   * small WebP preview as a data: URL (`thumbnail`, at most 160 px), and what the image model saw in
   * it (`labels`, most probable first; absent when labels are off or none was confident).
   */
  media?: { type: string; uri?: string; modality: MediaKind; model: string; at?: number; thumbnail?: string; labels?: MediaLabel[] };
  /** Where the chunk's text came from, when it was read from a medium rather than written. */
  text_source?: TextSource;
  /** Text extracted from a file: the 1-based page of a PDF the chunk comes from. */
  page?: number;
  /**
   * Text extracted from a file (a document, or an image's OCR text): where the chunk lies in the
   * text extracted from its page (or from the whole file), as UTF-16 offsets [start, end).
   */
  position?: { start: number; end: number };
  /** Speech transcribed from a recording (SEARCHBUS_SPEECH_TO_TEXT): the segment the chunk comes from, in ms from its start. */
  start_ms?: number;
  end_ms?: number;
  /** Source code: the file's language, the chunk's function or class (`Class.method`) and its 1-based lines. */
  language?: CodeLanguage;
  symbol?: string;
  start_line?: number;
  end_line?: number;
  metadata: Record<string, unknown>;
  tenant: string;
  model: string;
  ingested_at: string;
}

export type PayloadIndexSchema = 'keyword' | 'integer' | 'float' | 'bool' | 'datetime' | { type: 'keyword'; is_tenant: true };

/** Indexes every collection gets: lookups by document (deletes), per-tenant filtering, chunk ranges. */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; schema: PayloadIndexSchema }> = [
  { field: 'doc_id', schema: 'keyword' },
  { field: 'tenant', schema: { type: 'keyword', is_tenant: true } },
  { field: 'chunk', schema: 'integer' },
];

export function vectorParams(model: ModelSpec): { size: number; distance: 'Cosine' | 'Dot' | 'Euclid' } {
  return { size: model.dimension, distance: model.distance };
}

/**
 * How a collection is laid out on a Qdrant cluster. Set when a collection is created (by `topology
 * apply` or a rebuild); an existing collection that differs is reported as drift, and a rebuild
 * (`searchbus reindex`) creates its successor with these settings. The defaults suit one machine.
 */
export interface CollectionSettings {
  /** Shards the collection is split into; fixed at creation. */
  shardNumber: number;
  /** Copies of each shard, on different Qdrant nodes. */
  replicationFactor: number;
  /** Replicas that must acknowledge a write before Qdrant answers it (at most replicationFactor). */
  writeConsistencyFactor: number;
  /** Original vectors memory-mapped from disk instead of held in RAM. */
  vectorsOnDisk: boolean;
  /** Payload read from disk instead of held in RAM. */
  payloadOnDisk: boolean;
  /** Scalar int8 quantization (kept in RAM) with rescoring on the original vectors, or none. */
  quantization: 'none' | 'int8';
  /** Candidates per wanted chunk fetched from the quantized index and rescored with the original vectors. */
  rescoreOversampling: number;
  hnswM: number;
  hnswEfConstruct: number;
}

/** One machine: a single shard and copy, everything in RAM but the payload (Qdrant's defaults). */
export const DEFAULT_COLLECTION_SETTINGS: CollectionSettings = {
  shardNumber: 1,
  replicationFactor: 1,
  writeConsistencyFactor: 1,
  vectorsOnDisk: false,
  payloadOnDisk: true,
  quantization: 'none',
  rescoreOversampling: 2,
  hnswM: 16,
  hnswEfConstruct: 100,
};

/** The fraction of values int8 quantization keeps within its range; outliers are clamped. */
export const INT8_QUANTILE = 0.99;

/** The non-vector part of a Qdrant CreateCollection body for these settings. */
export function collectionLayout(settings: CollectionSettings): {
  shard_number: number;
  replication_factor: number;
  write_consistency_factor: number;
  on_disk_payload: boolean;
  hnsw_config: { m: number; ef_construct: number };
  quantization_config?: { scalar: { type: 'int8'; quantile: number; always_ram: boolean } };
} {
  return {
    shard_number: settings.shardNumber,
    replication_factor: settings.replicationFactor,
    write_consistency_factor: settings.writeConsistencyFactor,
    on_disk_payload: settings.payloadOnDisk,
    hnsw_config: { m: settings.hnswM, ef_construct: settings.hnswEfConstruct },
    // The quantized copy stays in RAM even when the originals are on disk: it is what the HNSW
    // search reads, and the originals are only touched to rescore the best candidates.
    ...(settings.quantization === 'int8'
      ? { quantization_config: { scalar: { type: 'int8' as const, quantile: INT8_QUANTILE, always_ram: true } } }
      : {}),
  };
}

/** Search parameters for these settings: rescoring with the original vectors when quantized. */
export function searchParams(settings: CollectionSettings): { quantization: { rescore: true; oversampling: number } } | undefined {
  return settings.quantization === 'int8' ? { quantization: { rescore: true, oversampling: settings.rescoreOversampling } } : undefined;
}

/** The part of Qdrant's CollectionInfo.config that collectionDrift reads. */
export interface CollectionConfigView {
  params: {
    vectors?: unknown;
    shard_number?: number | null;
    replication_factor?: number | null;
    write_consistency_factor?: number | null;
    on_disk_payload?: boolean | null;
  };
  hnsw_config?: { m?: number | null; ef_construct?: number | null } | null;
  quantization_config?: unknown;
}

/**
 * Where an existing collection's layout differs from the settings, one line per field, naming the
 * setting. Vector on-disk is read from the unnamed vector or from every named dense vector, in
 * topology's order (`vectorNamesInOrder`), whatever order the server lists them in.
 */
export function collectionDrift(
  name: string,
  config: CollectionConfigView,
  settings: CollectionSettings,
  settingNames: Record<keyof CollectionSettings, string>,
): string[] {
  const wanted = collectionLayout(settings);
  const differences: string[] = [];
  const check = (field: string, actual: unknown, want: unknown, setting: string): void => {
    if (JSON.stringify(actual) !== JSON.stringify(want)) {
      differences.push(`collection ${name} has ${field} ${JSON.stringify(actual)}, ${setting} wants ${JSON.stringify(want)}`);
    }
  };
  const params = config.params;
  check('shard_number', params.shard_number ?? 1, wanted.shard_number, settingNames.shardNumber);
  check('replication_factor', params.replication_factor ?? 1, wanted.replication_factor, settingNames.replicationFactor);
  check(
    'write_consistency_factor',
    params.write_consistency_factor ?? 1,
    wanted.write_consistency_factor,
    settingNames.writeConsistencyFactor,
  );
  check('on_disk_payload', params.on_disk_payload ?? true, wanted.on_disk_payload, settingNames.payloadOnDisk);
  for (const [vector, onDisk] of vectorsOnDisk(params.vectors)) {
    check(vector === '' ? 'vectors.on_disk' : `vectors.${vector}.on_disk`, onDisk, settings.vectorsOnDisk, settingNames.vectorsOnDisk);
  }
  check('hnsw_config.m', config.hnsw_config?.m ?? null, wanted.hnsw_config.m, settingNames.hnswM);
  check(
    'hnsw_config.ef_construct',
    config.hnsw_config?.ef_construct ?? null,
    wanted.hnsw_config.ef_construct,
    settingNames.hnswEfConstruct,
  );
  check('quantization', quantizationKind(config.quantization_config), settings.quantization, settingNames.quantization);
  return differences;
}

/** Vector name ('' for the unnamed one) -> whether its originals are on disk. */
function vectorsOnDisk(vectors: unknown): Array<[string, boolean]> {
  if (typeof vectors !== 'object' || vectors === null) return [];
  if ('size' in vectors) return [['', (vectors as { on_disk?: boolean | null }).on_disk ?? false]];
  return namedInOrder(vectors as Record<string, { on_disk?: boolean | null } | null>).map(([name, v]) => [name, v?.on_disk ?? false]);
}

function quantizationKind(config: unknown): string {
  if (config === null || config === undefined) return 'none';
  if (typeof config === 'object' && 'scalar' in config) {
    const type = (config as { scalar?: { type?: string } }).scalar?.type;
    return type === 'int8' ? 'int8' : `scalar ${String(type)}`;
  }
  return typeof config === 'object' ? Object.keys(config).join(',') : JSON.stringify(config);
}

// ---- vector layout -----------------------------------------------------------------------------

/**
 * Vector names of a collection. The dense text embedding is `text` (issue 9 adds `image` and
 * `audio` beside it); the BM25-style sparse vector is named after its analyzer.
 */
export const VECTOR_NAMES = { text: 'text', image: 'image', audio: 'audio' } as const;

const SPARSE_PREFIX = 'text-bm25-';

export function sparseVectorName(analyzer: AnalyzerSpec): string {
  return `${SPARSE_PREFIX}${analyzer.id}`;
}

/** Every vector name topology defines, in its order: `text`, the media vectors, one sparse vector per analyzer. */
const TOPOLOGY_VECTOR_ORDER: ReadonlyMap<string, number> = new Map(
  [VECTOR_NAMES.text, ...MODALITIES.map((modality) => VECTOR_NAMES[modality]), ...analyzerIds().map((id) => `${SPARSE_PREFIX}${id}`)].map(
    (name, i) => [name, i],
  ),
);

/**
 * Vector names (dense or sparse) in the order topology defines them; names it does not define come
 * after, sorted (by UTF-8 bytes, as Qdrant sorts them). What reads a server's vector maps walks
 * them in this order, never in the map's own: Qdrant lists named vectors sorted by name, the Edge
 * server did in creation order, and a report must not depend on which one answered.
 */
export function vectorNamesInOrder(names: Iterable<string>): string[] {
  const rank = (name: string): number => TOPOLOGY_VECTOR_ORDER.get(name) ?? TOPOLOGY_VECTOR_ORDER.size;
  return [...names].sort((a, b) => rank(a) - rank(b) || Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** The entries of a map of named vectors, in `vectorNamesInOrder`. */
function namedInOrder<T>(vectors: Record<string, T>): Array<[string, T]> {
  return vectorNamesInOrder(Object.keys(vectors)).map((name) => [name, vectors[name] as T]);
}

/** A collection's `vectors` config as JSON for a report: named vectors in `vectorNamesInOrder`. */
export function vectorsJson(vectors: unknown): string {
  if (!isRecord(vectors) || typeof vectors.size === 'number') return JSON.stringify(vectors);
  // Built by hand: an object would list integer-like names first, whatever their order.
  return `{${namedInOrder(vectors)
    .map(([name, params]) => `${JSON.stringify(name)}:${JSON.stringify(params)}`)
    .join(',')}}`;
}

/**
 * How a collection's points hold their vectors. `dense` is '' for a legacy collection (one
 * unnamed dense vector, built before named vectors), served as it is until a rebuild.
 */
export interface CollectionLayout {
  readonly dense: string;
  readonly sparse: { readonly name: string; readonly analyzer: AnalyzerSpec } | null;
  /**
   * The media vectors (`image`, `audio`) and the registry model each was built with; absent in
   * collections built before media (they are searched by text only until a rebuild).
   */
  readonly media?: Partial<Record<Modality, { readonly name: string; readonly model: MediaModel }>>;
}

export function layoutFor(analyzer: AnalyzerSpec | null): CollectionLayout {
  const media: NonNullable<CollectionLayout['media']> = {};
  for (const modality of MODALITIES) media[modality] = { name: VECTOR_NAMES[modality], model: MEDIA_MODELS[modality] };
  return { dense: VECTOR_NAMES.text, sparse: analyzer ? { name: sparseVectorName(analyzer), analyzer } : null, media };
}

export interface CollectionCreateParams {
  vectors: Record<string, { size: number; distance: 'Cosine' | 'Dot' | 'Euclid' }>;
  sparse_vectors?: Record<string, { modifier: 'idf' }>;
}

/** What a new collection is created with: named dense `text`, and the sparse vector with Qdrant's IDF modifier. */
export function collectionParams(model: ModelSpec, layout: CollectionLayout): CollectionCreateParams {
  const params: CollectionCreateParams = { vectors: { [layout.dense || VECTOR_NAMES.text]: vectorParams(model) } };
  for (const vector of Object.values(layout.media ?? {}))
    params.vectors[vector.name] = { size: vector.model.dimension, distance: 'Cosine' };
  if (layout.sparse) params.sparse_vectors = { [layout.sparse.name]: { modifier: 'idf' } };
  return params;
}

/** The parts of Qdrant's collection info a layout is read from. */
export interface CollectionVectorsInfo {
  config: { params: { vectors?: unknown; sparse_vectors?: unknown } };
}

/**
 * A collection's layout from its config, or a reason it is not a searchbus layout. A sparse
 * vector whose analyzer this build does not know is ignored (searched dense-only), never guessed.
 */
export function layoutOf(info: CollectionVectorsInfo): CollectionLayout | string {
  const vectors = info.config.params.vectors;
  if (!isRecord(vectors)) return 'it has no dense vectors';
  let dense: string;
  if (typeof vectors.size === 'number') dense = '';
  else if (VECTOR_NAMES.text in vectors) dense = VECTOR_NAMES.text;
  else
    return `it has no dense vector named "${VECTOR_NAMES.text}" (vectors: ${vectorNamesInOrder(Object.keys(vectors)).join(', ') || 'none'})`;
  const sparseVectors = info.config.params.sparse_vectors;
  let sparse: CollectionLayout['sparse'] = null;
  if (isRecord(sparseVectors)) {
    for (const name of vectorNamesInOrder(Object.keys(sparseVectors))) {
      if (!name.startsWith(SPARSE_PREFIX)) continue;
      const analyzer = findAnalyzerSpec(name.slice(SPARSE_PREFIX.length));
      if (analyzer) {
        sparse = { name, analyzer };
        break;
      }
    }
  }
  const media: NonNullable<CollectionLayout['media']> = {};
  for (const modality of MODALITIES) {
    const params = vectors[VECTOR_NAMES[modality]];
    const size = isRecord(params) && typeof params.size === 'number' ? params.size : undefined;
    const model = size === undefined ? undefined : mediaModelFor(modality, size);
    if (model) media[modality] = { name: VECTOR_NAMES[modality], model };
  }
  return Object.keys(media).length > 0 ? { dense, sparse, media } : { dense, sparse };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
