import type { QdrantClient } from '@qdrant/js-client-rest';
import {
  codeTerms,
  DOCUMENT_EXTRACTORS,
  imageThumbnail,
  labelText,
  mediaModality,
  sparseAnalyzer,
  videoTimeline,
  type DocumentEncoder,
  type MediaEncoder,
  type SparseAnalyzer,
  type VideoEmbedding,
  type CodeSpan,
  type TextSegment,
  TranscriptionFailure,
} from '../embedding/index.ts';
import { encodeAndWrite, inGroups } from './write-pipeline.ts';
import {
  ContractError,
  documentFormatOf,
  documentKey,
  isMediaContentError,
  mediaKindOf,
  pointId,
  type ChunkPayload,
  type CollectionLayout,
  type IngestMessage,
  type MediaErrorCode,
  type MediaKind,
  type MediaRef,
  type TextSource,
} from '../../topology/index.ts';

export interface IndexContext {
  qdrant: QdrantClient;
  /** A collection or an alias; writes through an alias follow it across a swap. */
  collection: string;
  encoder: DocumentEncoder;
  /**
   * The collection's vectors: each chunk gets the dense vector under `layout.dense` ('' = a legacy
   * unnamed vector) and, when the collection has one, its BM25 sparse vector from the same text.
   */
  layout: CollectionLayout;
  now?: () => Date;
  signal?: AbortSignal;
  /**
   * Embeds the documents' images and audio, extracts the text of document files (PDF, DOCX, HTML…)
   * and OCRs images; without it a document with media is a ContractError `media-undecodable`.
   */
  media?: MediaEncoder;
  /**
   * Where each message came from (parallel to `messages`). Given, every point records it
   * (`source_offset`) and an upsert older than what its document's first point already holds is
   * skipped: the text and media groups write the same documents, each in its own order.
   */
  sources?: ReadonlyArray<{ partition: number; offset: string }>;
  /** Documents per encode call and per upsert; the next group is encoded while one is written. */
  groupSize?: number;
  /** Wraps each phase (embed, Qdrant upsert, Qdrant delete), e.g. to record it as a trace span. */
  step?: <T>(name: 'embed' | 'qdrant upsert' | 'qdrant delete', run: () => Promise<T>) => Promise<T>;
  /** Told of each recording indexed without its transcript because the speech model failed on it (e.g. to count it). */
  transcriptionFailed?: (failure: TranscriptionFailure, documentId: string) => void;
}

/**
 * Small enough that the first write starts early and the last one, which nothing overlaps, is
 * short; large enough that an encode call still fills the model's batches.
 */
const DEFAULT_GROUP_SIZE = 16;

export interface IndexResult {
  upserted: number;
  deleted: number;
  points: number;
  /** What was written, document by document (a stale upsert the other group superseded is not): the index change feed. */
  applied: AppliedDocument[];
}

export interface AppliedDocument {
  message: IngestMessage;
  op: 'indexed' | 'deleted';
  /** `text`, or the kind of the document's medium; null for a delete. */
  modality: 'text' | MediaKind | null;
  /** Points written; 0 for a delete. */
  chunks: number;
}

/** The text a document is embedded from: title, then body. */
export function documentText(document: { title?: string; text?: string }): string {
  return [document.title?.trim(), document.text?.trim()].filter(Boolean).join(' ');
}

type Upsert = Extract<IngestMessage, { kind: 'upsert' }>;
type Condition = Record<string, unknown>;

/**
 * Within a batch only the last message per document, (tenant, id), counts, as after compaction.
 * The result keeps the order in which each document last appeared.
 */
export function latestPerDocument(messages: IngestMessage[]): IngestMessage[] {
  const latest = new Map<string, IngestMessage>();
  for (const message of messages) {
    const key = documentKey(message.tenant, message.id);
    latest.delete(key);
    latest.set(key, message);
  }
  return [...latest.values()];
}

/**
 * Applies a batch of ingest messages to the collection. Within a batch only the last message per
 * document counts, as after compaction. Upserts are written (wait=true) before stale chunks of
 * shorter new versions and tombstoned documents are deleted, so a crash in between leaves extra
 * chunks that the redelivered batch removes, never a missing document. Every delete names the
 * tenant as well as the id, so it never reaches another tenant's document of the same id. A
 * group's media are read and embedded in its encode phase (beside the next write); a bad medium
 * fails the batch before any delete, and the groups already written are rewritten on redelivery.
 */
export async function indexDocuments(messages: IngestMessage[], context: IndexContext): Promise<IndexResult> {
  const offsets = new Map<IngestMessage, string>();
  context.sources?.forEach((source, i) => messages[i] && offsets.set(messages[i], source.offset));
  const latest = latestPerDocument(messages);
  const stale = context.sources ? await olderThanStored(latest, offsets, context) : new Set<IngestMessage>();
  const upserts = latest.filter((m): m is Upsert => m.kind === 'upsert' && !stale.has(m));
  const deletes = latest.filter((m) => m.kind === 'delete');

  const ingestedAt = (context.now?.() ?? new Date()).toISOString();
  // The model encodes the next group while Qdrant writes this one; writes stay in order, one at a
  // time, and all are acknowledged before this returns (so before the offsets commit).
  const step = context.step ?? ((_name, run) => run());
  const sparse = context.layout.sparse
    ? { name: context.layout.sparse.name, analyzer: sparseAnalyzer(context.layout.sparse.analyzer) }
    : null;
  let points = 0;
  const encodedGroups = await encodeAndWrite(
    inGroups(upserts, context.groupSize ?? DEFAULT_GROUP_SIZE),
    (group) => encodeGroup(group, context, step),
    async (group, encoded) => {
      const batch = toPoints(group, encoded, {
        modelId: context.encoder.modelId,
        ingestedAt,
        dense: context.layout.dense,
        sparse,
        offsets,
      });
      points += batch.length;
      if (batch.length > 0) await step('qdrant upsert', () => context.qdrant.upsert(context.collection, { wait: true, points: batch }));
    },
  );
  const encoded = encodedGroups.flat();

  const staleChunks = upserts.map((u, i) => ({
    must: [...documentConditions(u.tenant, [u.id]), { key: 'chunk', range: { gte: pointCount(encoded[i]) } }],
  }));
  const should = [...deletedDocuments(deletes), ...staleChunks];
  if (should.length > 0) await step('qdrant delete', () => context.qdrant.delete(context.collection, { wait: true, filter: { should } }));

  const applied: AppliedDocument[] = [
    ...upserts.map((u, i) => ({
      message: u,
      op: 'indexed' as const,
      modality: u.document.media ? (mediaKindOf(u.document.media.type) ?? null) : ('text' as const),
      chunks: pointCount(encoded[i]),
    })),
    ...deletes.map((d) => ({ message: d, op: 'deleted' as const, modality: null, chunks: 0 })),
  ];
  return { upserted: upserts.length, deleted: deletes.length, points, applied };
}

interface PointShape {
  modelId: string;
  ingestedAt: string;
  /** The dense vector's name ('' = a legacy collection's unnamed vector). */
  dense: string;
  sparse: { name: string; analyzer: SparseAnalyzer } | null;
  /** Each message's source offset, when the consumer records them. */
  offsets: ReadonlyMap<IngestMessage, string>;
}

/** A document's text chunks (one empty, vector-less chunk when it has no text) and its medium. */
interface EncodedDocument {
  chunks: EncodedChunk[];
  medium: EmbeddedMedium | null;
}

interface EncodedChunk {
  text: string;
  vector: Float32Array | null;
  /** Text extracted from a file: its page, and where the chunk lies in that page's extracted text. */
  page?: number;
  position?: { start: number; end: number };
  source?: TextSource;
  /** Speech transcribed from a recording: the times of its segment. */
  times?: { startMs: number; endMs: number };
  /** Source code: the chunk's language, symbol and lines, and its code terms for the sparse vector. */
  code?: CodeSpan;
  codeTerms?: string[];
}

/**
 * A text to chunk and embed. `extracted` marks text extracted from a file (or OCR): its chunks record
 * their position in it, `prefix` characters (the title) being the document's own text put before it.
 */
interface TextPart {
  text: string;
  page?: number;
  source?: TextSource;
  times?: { startMs: number; endMs: number };
  code?: CodeSpan;
  extracted: boolean;
  prefix: number;
}

/** A document is as many points as it has text chunks or media moments (a video's frames), whichever is more. */
function pointCount(document: EncodedDocument | undefined): number {
  return Math.max(document?.chunks.length ?? 0, document?.medium?.points.length ?? 0);
}

/**
 * Reads each group member's medium first (an image's or a clip's vector, a video's frame and
 * audio-track vectors, a document file's text, an image's OCR text), then embeds every text part of
 * the group in one call; a bad medium fails the group. A group without media goes straight to the text model, as before media existed.
 */
async function encodeGroup(group: Upsert[], context: IndexContext, step: NonNullable<IndexContext['step']>): Promise<EncodedDocument[]> {
  const media = group.some((u) => u.document.media) ? await step('embed', () => embedMedia(group, context)) : group.map(() => null);
  const parts = group.map((u, i) => textParts(u, media[i]?.text ?? null));
  const flat = parts.flat();
  const embedded = flat.length > 0 ? await step('embed', () => context.encoder.encodeDocuments(flat.map((p) => p.text))) : [];
  let next = 0;
  const documents = group.map((_, i) => {
    const chunks = (parts[i] ?? []).flatMap((part) => (embedded[next++] ?? []).map((chunk) => encodedChunk(part, chunk)));
    return { chunks: chunks.length > 0 ? chunks : [{ text: '', vector: null }], medium: media[i]?.medium ?? null };
  });
  if (context.layout.sparse) await addCodeTerms(documents, sparseAnalyzer(context.layout.sparse.analyzer));
  return documents;
}

/** Each code chunk's terms, from its own syntax tree (a window of a long function parses as a fragment). */
async function addCodeTerms(documents: EncodedDocument[], words: SparseAnalyzer): Promise<void> {
  for (const chunk of documents.flatMap((d) => d.chunks)) {
    if (chunk.code && chunk.text !== '') chunk.codeTerms = await codeTerms(chunk.code.language, chunk.text, words);
  }
}

/**
 * The texts a document is embedded from: its title and text, as always; a file's extracted text
 * after them, one part per page, the title (and text) leading its first page.
 */
function textParts(u: Upsert, extracted: TextSegment[] | null): TextPart[] {
  const own = documentText(u.document);
  if (!extracted) return own === '' ? [] : [{ text: own, extracted: false, prefix: 0 }];
  return extracted.map((segment, k) => {
    const prefix = k === 0 && own !== '' ? `${own}\n\n` : '';
    return {
      text: prefix + segment.text,
      ...(segment.page !== undefined ? { page: segment.page } : {}),
      ...(segment.source !== undefined ? { source: segment.source } : {}),
      ...(segment.startMs !== undefined && segment.endMs !== undefined
        ? { times: { startMs: segment.startMs, endMs: segment.endMs } }
        : {}),
      ...(segment.code ? { code: segment.code } : {}),
      extracted: true,
      prefix: prefix.length,
    };
  });
}

function encodedChunk(part: TextPart, chunk: { text: string; vector: Float32Array; start?: number; end?: number }): EncodedChunk {
  const encoded: EncodedChunk = { text: chunk.text, vector: chunk.vector };
  if (!part.extracted) return encoded;
  if (part.page !== undefined) encoded.page = part.page;
  if (part.source !== undefined) encoded.source = part.source;
  if (part.times) encoded.times = part.times;
  const start = chunk.start ?? part.text.indexOf(chunk.text);
  if (start >= 0) {
    const end = chunk.end ?? start + chunk.text.length;
    encoded.position = { start: Math.max(0, start - part.prefix), end: Math.max(0, end - part.prefix) };
  }
  if (part.code) encoded.code = chunkLines(part.code, part.text, encoded.position ?? null, part.prefix);
  return encoded;
}

/** A window of a long function covers only some of its lines: those its text spans. */
function chunkLines(span: CodeSpan, text: string, position: { start: number; end: number } | null, prefix: number): CodeSpan {
  if (!position) return span;
  const body = text.slice(prefix);
  const linesBefore = (offset: number): number => body.slice(0, offset).split('\n').length - 1;
  const startLine = span.startLine + linesBefore(position.start);
  const endLine = span.startLine + linesBefore(Math.max(position.start, position.end - 1));
  return { ...span, startLine, endLine: Math.min(endLine, span.endLine) };
}

// Runs on the main thread (the sparse analyzer too) while the inference worker embeds the next group.
function toPoints(upserts: Upsert[], encoded: EncodedDocument[], { modelId, ingestedAt, dense, sparse, offsets }: PointShape) {
  return upserts.flatMap((u, i) => {
    const chunks = encoded[i]?.chunks ?? [];
    const medium = encoded[i]?.medium ?? null;
    const count = pointCount(encoded[i]);
    return Array.from({ length: count }, (_, index) => {
      // Past the text (a video's later moments): a point without text, holding only media vectors.
      const chunk = chunks[index] ?? { text: '', vector: null };
      const moment = medium?.points[index];
      const payload: ChunkPayload = {
        doc_id: u.id,
        chunk: index,
        chunks: count,
        title: u.document.title ?? '',
        text: chunk.text,
        metadata: u.document.metadata ?? {},
        tenant: u.tenant,
        model: modelId,
        ingested_at: ingestedAt,
        ...(medium ? { media: moment?.at === undefined ? medium.payload : { ...medium.payload, at: moment.at } } : {}),
        ...(chunk.page !== undefined ? { page: chunk.page } : {}),
        ...(chunk.position ? { position: chunk.position } : {}),
        ...(chunk.source ? { text_source: chunk.source } : {}),
        ...(chunk.times ? { start_ms: chunk.times.startMs, end_ms: chunk.times.endMs } : {}),
        ...(chunk.code ? codePayload(chunk.code) : {}),
      };
      const offset = offsets.get(u);
      const record = offset === undefined ? payload : { ...payload, source_offset: offset };
      const embedding = chunk.vector ? Array.from(chunk.vector) : null;
      // An image's or a recording's vector sits on the document's first point, beside its first
      // text chunk; a video's moments on its first points, one each.
      const vector =
        dense === ''
          ? (embedding ?? [])
          : {
              ...(embedding ? { [dense]: embedding } : {}),
              ...(sparse && chunk.text !== '' ? { [sparse.name]: sparseVector(sparse.analyzer, chunk) } : {}),
              ...(moment?.vectors ?? {}),
            };
      return { id: pointId(u.tenant, u.id, index), vector, payload: record as unknown as Record<string, unknown> };
    });
  });
}

/** A code chunk's sparse vector holds its code terms; any other chunk's, its words. */
function sparseVector(analyzer: SparseAnalyzer, chunk: EncodedChunk) {
  return chunk.codeTerms ? analyzer.documentOf(chunk.codeTerms) : analyzer.document(chunk.text);
}

function codePayload(code: CodeSpan): Pick<ChunkPayload, 'language' | 'symbol' | 'start_line' | 'end_line'> {
  return {
    language: code.language,
    ...(code.symbol !== undefined ? { symbol: code.symbol } : {}),
    start_line: code.startLine,
    end_line: code.endLine,
  };
}

interface EmbeddedMedium {
  payload: NonNullable<ChunkPayload['media']>;
  /** From the document's first point on: the media vectors each carries (by vector name) and, in a video, its moment. */
  points: Array<{ vectors: Record<string, number[]>; at?: number }>;
}

/** What a document's medium gave: its media vector (image, audio) and the text read from it (document file, OCR, speech). */
interface ReadMedium {
  medium: EmbeddedMedium;
  text: TextSegment[] | null;
}

/** Each upsert's medium read and embedded or extracted, or a media ContractError naming the document (same code). */
async function embedMedia(upserts: Upsert[], context: IndexContext): Promise<Array<ReadMedium | null>> {
  return Promise.all(
    upserts.map(async (u) => {
      const media = u.document.media;
      if (!media) return null;
      try {
        return await readMedium(media, u, context);
      } catch (error) {
        if (isMediaContentError(error))
          throw new ContractError(error.code, `document ${u.tenant}/${u.id}: ${error.message}`, { cause: error });
        throw error;
      }
    }),
  );
}

async function readMedium(media: MediaRef, u: Upsert, context: IndexContext): Promise<ReadMedium> {
  const kind = mediaModality(media);
  const uri = media.uri !== undefined ? { uri: media.uri } : {};
  // A video's frames go to the image vector (required) and its audio track to the audio vector (if any).
  const modality = kind === 'document' ? null : kind === 'video' ? 'image' : kind;
  const target = modality ? context.layout.media?.[modality] : null;
  if (modality && !target)
    throw new ContractError<MediaErrorCode>(
      'media-undecodable',
      `collection ${context.collection} has no ${modality} vector (rebuild it with \`searchbus reindex\`)`,
    );
  if (!context.media) throw new ContractError<MediaErrorCode>('media-undecodable', 'this consumer embeds no media');
  const bytes = await context.media.read(media);
  if (kind === 'document') {
    const text = await context.media.extract(media.type, bytes);
    const model = DOCUMENT_EXTRACTORS[documentFormatOf(media.type)!];
    return { medium: { payload: { type: media.type, modality: kind, model, ...uri }, points: [] }, text };
  }
  const payload = { type: media.type, modality: kind, model: target!.model.id, ...uri };
  if (kind === 'video') {
    const { points, speech } = await embedVideo(context.media, context.layout, bytes);
    // What is said on the track joins the text path like a recording's (SEARCHBUS_SPEECH_TO_TEXT).
    if (speech instanceof TranscriptionFailure) context.transcriptionFailed?.(speech, u.document.id);
    const text = Array.isArray(speech) && speech.length > 0 ? speech : null;
    return { medium: { payload, points }, text };
  }
  if (kind === 'audio') {
    const vector = await context.media.embed(kind, target!.model, bytes);
    // A recording's speech joins the text path, one part per utterance with its times (SEARCHBUS_SPEECH_TO_TEXT).
    const speech = await transcribeOrSkip(context, bytes, u);
    const points = [{ vectors: { [target!.name]: Array.from(vector) } }];
    return { medium: { payload, points }, text: speech && speech.length > 0 ? speech : null };
  }
  const { vector, labels } = await context.media.embedImage(target!.model, bytes);
  const points = [{ vectors: { [target!.name]: Array.from(vector) } }];
  // Photos keep a small preview for result lists (the bytes themselves are never stored).
  const thumbnail = await imageThumbnail(bytes);
  // Any text in the image (a screenshot, a scan), then what the model saw in it, join the text path:
  // a text query finds the photo by its content, not only by its title. The text an author put in
  // the image leads, beside the title; the labels are the model's guess.
  const ocr = await context.media.ocr(bytes);
  const text: TextSegment[] = [
    ...(ocr && ocr.text !== '' ? [{ text: ocr.text, source: 'ocr' as const }] : []),
    ...(labels.length > 0 ? [{ text: labelText(labels), source: 'labels' as const }] : []),
  ];
  const described = labels.map((l) => ({ name: l.name, score: Math.round(l.score * 1000) / 1000 }));
  return {
    medium: {
      payload: { ...payload, ...(thumbnail !== null ? { thumbnail } : {}), ...(described.length > 0 ? { labels: described } : {}) },
      points,
    },
    text: text.length > 0 ? text : null,
  };
}

/**
 * The recording's speech; none when the speech model fails on this input in a way that would fail
 * again (TranscriptionFailure): the recording is then indexed by its title and audio vector, as a
 * silent one, rather than retried for ever while its partition waits. Other errors go on.
 */
async function transcribeOrSkip(context: IndexContext, bytes: Buffer, u: Upsert): Promise<TextSegment[] | null> {
  try {
    return await context.media!.transcribe(bytes);
  } catch (error) {
    if (!(error instanceof TranscriptionFailure)) throw error;
    context.transcriptionFailed?.(error, u.document.id);
    return null;
  }
}

/** A video's moments, in time order, each with the vectors of its frame and/or audio segment; and its track's speech. */
async function embedVideo(
  media: MediaEncoder,
  layout: CollectionLayout,
  bytes: Buffer,
): Promise<{ points: EmbeddedMedium['points']; speech: VideoEmbedding['speech'] }> {
  const image = layout.media?.image;
  const audio = layout.media?.audio ?? null;
  if (!image) throw new ContractError<MediaErrorCode>('media-undecodable', 'the collection has no image vector');
  const video = await media.embedVideo({ image: image.model, audio: audio?.model ?? null }, bytes);
  const points = videoTimeline(video.frames, video.audio)
    .map((moment) => ({
      at: Math.round(moment.atSeconds * 1000) / 1000,
      vectors: {
        ...(moment.image ? { [image.name]: Array.from(moment.image) } : {}),
        ...(moment.audio && audio ? { [audio.name]: Array.from(moment.audio) } : {}),
      },
    }))
    .filter((moment) => Object.keys(moment.vectors).length > 0);
  return { points, speech: video.speech };
}

/** Upserts whose document already has a point written from a later offset (by the other group). */
async function olderThanStored(
  latest: IngestMessage[],
  offsets: Map<IngestMessage, string>,
  context: IndexContext,
): Promise<Set<IngestMessage>> {
  const upserts = latest.filter((m): m is Upsert => m.kind === 'upsert' && offsets.has(m));
  if (upserts.length === 0) return new Set();
  const ids = upserts.map((u) => pointId(u.tenant, u.id, 0));
  const stored = await context.qdrant.retrieve(context.collection, { ids, with_payload: ['source_offset'], with_vector: false });
  const storedOffset = new Map(stored.map((p) => [String(p.id), (p.payload as { source_offset?: unknown } | null)?.source_offset]));
  return new Set(
    upserts.filter((u, i) => {
      const held = storedOffset.get(ids[i]!);
      return typeof held === 'string' && BigInt(held) > BigInt(offsets.get(u)!);
    }),
  );
}

function documentConditions(tenant: string, ids: string[]): Condition[] {
  return [
    { key: 'tenant', match: { value: tenant } },
    ids.length === 1 ? { key: 'doc_id', match: { value: ids[0] } } : { key: 'doc_id', match: { any: ids } },
  ];
}

/** One condition per tenant: its tenant and any of its deleted ids. */
function deletedDocuments(deletes: Array<{ tenant: string; id: string }>): Array<{ must: Condition[] }> {
  const byTenant = new Map<string, string[]>();
  for (const d of deletes) byTenant.set(d.tenant, [...(byTenant.get(d.tenant) ?? []), d.id]);
  return [...byTenant].map(([tenant, ids]) => ({ must: documentConditions(tenant, ids) }));
}
