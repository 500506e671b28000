import { isCodeLanguage, type MediaLabel, type SearchHit } from '../../topology/index.ts';

/** The fields of a scored chunk the reply is built from (a subset of Qdrant's ScoredPoint). */
export interface ScoredChunk {
  score: number;
  payload?: Record<string, unknown> | null;
}

/** Payload fields the query consumer asks Qdrant for; the vector and bookkeeping stay behind. */
export const HIT_PAYLOAD_FIELDS = [
  'doc_id',
  'chunk',
  'title',
  'text',
  'metadata',
  'media',
  'page',
  'text_source',
  'start_ms',
  'end_ms',
  'language',
  'symbol',
  'start_line',
  'end_line',
];

const SNIPPET_CHARS = 240;

/**
 * Chunks in score order -> documents in score order, each with its best chunk, at most `topK`.
 * A document's first chunk in the list is its best, so later ones are dropped.
 */
export function collapseToDocuments(points: readonly ScoredChunk[], topK: number): SearchHit[] {
  const seen = new Set<string>();
  const hits: SearchHit[] = [];
  for (const point of points) {
    if (hits.length >= topK) break;
    const payload = point.payload ?? {};
    const docId = payload.doc_id;
    if (typeof docId !== 'string' || seen.has(docId)) continue;
    seen.add(docId);
    hits.push({
      docId,
      chunk: typeof payload.chunk === 'number' ? payload.chunk : 0,
      score: point.score,
      title: typeof payload.title === 'string' ? payload.title : '',
      snippet: snippet(typeof payload.text === 'string' ? payload.text : ''),
      metadata: isRecord(payload.metadata) ? payload.metadata : {},
      ...(isRecord(payload.media) && typeof payload.media.type === 'string'
        ? {
            media: {
              type: payload.media.type,
              modality: String(payload.media.modality),
              ...(typeof payload.media.uri === 'string' ? { uri: payload.media.uri } : {}),
              ...(typeof payload.media.at === 'number' ? { at: payload.media.at } : {}),
              ...(typeof payload.media.thumbnail === 'string' ? { thumbnail: payload.media.thumbnail } : {}),
              ...labelsOf(payload.media.labels),
            },
          }
        : {}),
      ...(typeof payload.page === 'number' ? { page: payload.page } : {}),
      ...(payload.text_source === 'labels' || payload.text_source === 'ocr' || payload.text_source === 'transcript'
        ? { textSource: payload.text_source }
        : {}),
      ...(typeof payload.start_ms === 'number' && typeof payload.end_ms === 'number'
        ? { startMs: payload.start_ms, endMs: payload.end_ms }
        : {}),
      ...codeOf(payload),
    });
  }
  return hits;
}

/** The start of the chunk, cut at a word boundary when one is near the limit. */
export function snippet(text: string, maxChars: number = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= maxChars) return flat;
  const cut = flat.slice(0, maxChars - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > maxChars * 0.6 ? cut.slice(0, space) : cut}…`;
}

/**
 * How many chunks to ask for so that, after collapsing, `topK` documents remain: topK × the
 * oversampling factor, capped. When a page comes back full yet collapses to fewer than topK
 * documents, the caller asks again with `nextLimit`.
 */
export function initialLimit(topK: number, oversampling: number, maxLimit: number): number {
  return Math.min(Math.max(topK, topK * oversampling), maxLimit);
}

export function nextLimit(limit: number, maxLimit: number): number | null {
  return limit >= maxLimit ? null : Math.min(limit * 4, maxLimit);
}

/** Whether a result page may hide more documents: it was full and still collapsed to too few. */
export function needsMore(returned: number, limit: number, documents: number, topK: number): boolean {
  return documents < topK && returned >= limit;
}

function codeOf(payload: Record<string, unknown>): Pick<SearchHit, 'code'> {
  const { language, symbol, start_line: startLine, end_line: endLine } = payload;
  if (!isCodeLanguage(language) || typeof startLine !== 'number' || typeof endLine !== 'number') return {};
  return { code: { language, ...(typeof symbol === 'string' ? { symbol } : {}), startLine, endLine } };
}

function labelsOf(value: unknown): { labels?: MediaLabel[] } {
  if (!Array.isArray(value)) return {};
  const labels = value.filter((l): l is MediaLabel => isRecord(l) && typeof l.name === 'string' && typeof l.score === 'number');
  return labels.length > 0 ? { labels: labels.map((l) => ({ name: l.name, score: l.score })) } : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
