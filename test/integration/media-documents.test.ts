import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SearchHit } from '../../topology/index.ts';
import { DEFAULT_TENANT, pointId, VECTOR_NAMES } from '../../topology/index.ts';
import { deadLetters } from '../support/dead-letters.ts';
import { docxFile, htmlPage, pdfFile } from '../support/documents.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { MEDIA_FIXTURES, otherVoiceOgg, transformedPhoto } from '../support/media-queries.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';
import type { QueryStack } from '../support/query-stack.ts';

// Search anything, end to end on real Kafka, Redis, the Qdrant engine, the real text, image and
// audio models, pdfjs-dist, mammoth, html-to-text and tesseract.js: one folder holding a real PDF, a
// DOCX, an HTML page, a screenshot, photos, speech recordings and broken files goes through
// `searchbus ingest <folder>` (a CLI process); text queries find each passage (the PDF's with its
// page, the screenshot's read by OCR), a transformed copy of a photo finds that photo, the same
// phrase in another voice finds its recording, and broken files are dead-lettered with their reason.
const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
const FIXTURES = new URL('../fixtures/documents/', import.meta.url);
const SAMPLE_CORPUS = new URL('../../infra/demo/sample-corpus.jsonl', import.meta.url);
// Below the 140 KB PDF, stream.jpg and the recordings, which therefore travel by file:// uri (the
// claim check); the rest is inline.
const INLINE_MAX_BYTES = 60_000;
const PHOTOS = ['ladybird', 'stream'];
const PHRASES = [1, 2];

describe('a folder of everything: documents, a screenshot, photos and recordings', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let producer: MediaStack['producer'];
  let stack: QueryStack;
  let folder: string;

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_MEDIA_INLINE_MAX_BYTES: String(INLINE_MAX_BYTES) } });
    // As the encoder role makes it: OCR of images on, with the configured confidence floor.
    assert.equal(h.config.media.ocr.enabled, true, 'OCR is on by default');
    mediaStack = await startMediaStack(h);
    ({ producer, query: stack } = mediaStack);

    // The demo corpus as distractors: 50 short texts on other subjects.
    const corpus = (await readFile(SAMPLE_CORPUS, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; title: string; text: string });
    await producer.upsert(corpus.map((d) => ({ id: d.id, title: d.title, text: d.text })));

    folder = await mkdtemp(join(tmpdir(), 'searchbus-documents-'));
    for (const sub of ['manuals', 'letters', 'web', 'screenshots', 'notes', 'photos', 'recordings', 'broken'])
      await mkdir(join(folder, sub));
    await copyFile(new URL('shared-mime-info-spec.pdf', FIXTURES), join(folder, 'manuals', 'shared-mime-info-spec.pdf'));
    await copyFile(new URL('backup-error.png', FIXTURES), join(folder, 'screenshots', 'backup-error.png'));
    for (const photo of PHOTOS) await copyFile(new URL(`photos/${photo}.jpg`, MEDIA_FIXTURES), join(folder, 'photos', `${photo}.jpg`));
    for (const phrase of PHRASES)
      await copyFile(new URL(`speech/phrase${phrase}-voice1.wav`, MEDIA_FIXTURES), join(folder, 'recordings', `phrase${phrase}.wav`));
    await writeFile(
      join(folder, 'letters', 'bees.docx'),
      await docxFile([
        '# Getting the hives through winter',
        'Before the first frost, wrap each hive in insulation and narrow the entrance so that mice cannot get in.',
        'Leave the colony at least fifteen kilograms of honey; if the stores run low, feed fondant sugar on top of the frames.',
      ]),
    );
    await writeFile(
      join(folder, 'web', 'sourdough.html'),
      htmlPage('Looking after a sourdough starter', [
        'A starter is a culture of wild yeast and bacteria living in flour and water.',
        'Feed it every day: discard half, then stir in equal weights of fresh flour and lukewarm water.',
        'Kept in the fridge, it only needs feeding once a week.',
      ]),
    );
    await writeFile(
      join(folder, 'notes', 'bicycle.md'),
      '# Bicycle care\n\nOil the chain every 300 kilometres, and after every ride in the rain; wipe off what is left.\n',
    );
    // Broken files: cut short, password-protected, a scan without a text layer, a DOCX that is not one.
    await writeFile(
      join(folder, 'broken', 'truncated.pdf'),
      (await readFile(new URL('shared-mime-info-spec.pdf', FIXTURES))).subarray(0, 600),
    );
    await writeFile(join(folder, 'broken', 'locked.pdf'), pdfFile([['Board minutes, strictly confidential.']], { encrypted: true }));
    await writeFile(join(folder, 'broken', 'scan.pdf'), pdfFile([[], []]));
    await writeFile(join(folder, 'broken', 'renamed.docx'), 'a text file renamed to .docx');
    await writeFile(join(folder, 'letters', 'old.rtf'), '{\\rtf1 not supported}');
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (folder) await rm(folder, { recursive: true, force: true });
    }
  });

  const alias = (): string => h.topology.qdrant.alias;
  const pointsOf = async (id: string): Promise<Array<Record<string, unknown>>> =>
    (await allPoints(h.qdrant, alias())).filter((p) => p.payload.doc_id === id).map((p) => p.payload);
  const search = async (query: string, mode?: 'dense' | 'hybrid'): Promise<SearchHit[]> =>
    (await stack.client.search({ text: query, topK: 5, ...(mode ? { mode } : {}) })).hits;
  const show = (hits: SearchHit[]): string => JSON.stringify(hits.map((hit) => [hit.docId, hit.page, hit.score.toFixed(3)]));

  it('`searchbus ingest <folder>` publishes each file with its type; the encoders index document text page by page, photos and recordings as vectors', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'ingest', folder, '--json'], {
      env: {
        ...process.env,
        ...h.env,
        KAFKA_BROKERS: h.services.kafka.brokers.join(','),
        REDIS_URL: h.services.redis.url,
        QDRANT_URL: h.services.qdrant.url,
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      published: number;
      byType: Record<string, { published: number; skipped: number }>;
      skipped: Array<{ path: string; reason: string }>;
    };
    assert.deepEqual(summary.byType, {
      pdf: { published: 4, skipped: 0 },
      docx: { published: 2, skipped: 0 },
      html: { published: 1, skipped: 0 },
      image: { published: 3, skipped: 0 },
      audio: { published: 2, skipped: 0 },
      text: { published: 1, skipped: 0 },
      '.rtf': { published: 0, skipped: 1 },
    });

    const spec = 'manuals/shared-mime-info-spec.pdf';
    const media = [...PHOTOS.map((p) => `photos/${p}.jpg`), ...PHRASES.map((p) => `recordings/phrase${p}.wav`)];
    await waitFor(
      'every good file indexed',
      async () => {
        for (const id of [spec, 'letters/bees.docx', 'web/sourdough.html', 'screenshots/backup-error.png', 'notes/bicycle.md', ...media]) {
          const [p] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, id, 0)] });
          if (!p) return undefined;
        }
        return true;
      },
      600_000,
      500,
    );

    const pdf = await pointsOf(spec);
    // Every one of the 17 pages has chunks, each recording its page; the PDF went by uri.
    assert.deepEqual(
      [...new Set(pdf.map((p) => p.page))].sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 17 }, (_, i) => i + 1),
    );
    for (const p of pdf) {
      assert.deepEqual(Object.keys(p.media as object).sort(), ['modality', 'model', 'type', 'uri']);
      assert.equal((p.media as { modality: string }).modality, 'document');
      const position = p.position as { start: number; end: number };
      assert.ok(position.start >= 0 && position.end > position.start, JSON.stringify(p.position));
    }
    const html = await pointsOf('web/sourdough.html');
    assert.ok(
      html.every((p) => !/volcanic|window\.banner/.test(String(p.text))),
      'no script, style or noscript text was indexed',
    );
    const [shot] = await h.qdrant.retrieve(alias(), {
      ids: [pointId(DEFAULT_TENANT, 'screenshots/backup-error.png', 0)],
      with_payload: true,
      with_vector: true,
    });
    assert.ok(
      VECTOR_NAMES.image in (shot!.vector as object) && VECTOR_NAMES.text in (shot!.vector as object),
      'the screenshot has its image vector and its text',
    );
    assert.match(String((shot!.payload as { text: string }).text), /LIGHTHOUSE is full/);
    const vectorsOf = async (id: string): Promise<string[]> => {
      const [p] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, id, 0)], with_vector: true });
      return Object.keys(p!.vector as object);
    };
    for (const photo of PHOTOS)
      assert.ok((await vectorsOf(`photos/${photo}.jpg`)).includes(VECTOR_NAMES.image), `${photo}.jpg has its image vector`);
    for (const phrase of PHRASES)
      assert.ok(
        (await vectorsOf(`recordings/phrase${phrase}.wav`)).includes(VECTOR_NAMES.audio),
        `phrase${phrase}.wav has its audio vector`,
      );
  });

  it('a text query finds each passage: the PDF at its page, the DOCX, the HTML page and the screenshot', async () => {
    const spec = 'manuals/shared-mime-info-spec.pdf';
    const cases: Array<{ query: string; docId: string; page?: number; words: RegExp }> = [
      { query: 'how can a program tell that a directory is a mount point', docId: spec, page: 16, words: /mount/i },
      { query: "storing a file's MIME type in an extended attribute set by the user", docId: spec, page: 14, words: /extended attribute/i },
      { query: 'how do I look after my bee hives in winter', docId: 'letters/bees.docx', words: /hive|honey|frost/i },
      { query: 'how often should I feed my bread starter', docId: 'web/sourdough.html', words: /starter|feed/i },
      { query: 'why did the nightly backup fail', docId: 'screenshots/backup-error.png', words: /backup/i },
      { query: 'how often should a bike chain be lubricated', docId: 'notes/bicycle.md', words: /chain/i },
    ];
    // In both modes: the dense vectors and the sparse (BM25) vectors of the extracted text.
    for (const mode of ['dense', 'hybrid'] as const) {
      for (const c of cases) {
        const hits = await search(c.query, mode);
        assert.equal(hits[0]?.docId, c.docId, `${mode} ${c.query}: ${show(hits)}`);
        assert.equal(hits[0]?.page, c.page, `${mode} ${c.query}: page ${hits[0]?.page}`);
        assert.match(hits[0].snippet, c.words, `${mode} ${c.query}: snippet ${hits[0].snippet}`);
      }
    }
  });

  it('a query by example finds its medium first: a cropped, flipped copy its photo, the same phrase in another voice its recording', async () => {
    for (const photo of PHOTOS) {
      const { hits } = await stack.client.search({ image: { type: 'image/jpeg', data: await transformedPhoto(photo) }, topK: 3 });
      assert.equal(hits[0]?.docId, `photos/${photo}.jpg`, show(hits));
    }
    for (const phrase of PHRASES) {
      const { hits } = await stack.client.search({ audio: { type: 'audio/ogg', data: await otherVoiceOgg(phrase) }, topK: 3 });
      assert.equal(hits[0]?.docId, `recordings/phrase${phrase}.wav`, show(hits));
    }
  });

  it('dead-letters broken files with a typed reason each, and writes nothing of them', async () => {
    const letters = await deadLetters(h, 4, 300_000);
    assert.deepEqual(Object.fromEntries([...letters].map(([key, l]) => [key, l.code])), {
      'default/broken/truncated.pdf': 'document-undecodable',
      'default/broken/locked.pdf': 'document-encrypted',
      'default/broken/scan.pdf': 'document-no-text',
      'default/broken/renamed.docx': 'document-undecodable',
    });
    // OCR is on, so the pages without a text layer were rendered and read: nothing on them either.
    assert.match(
      letters.get('default/broken/scan.pdf')!.reason,
      /default\/broken\/scan\.pdf: the pdf file has no text to index \(no text layer, and OCR found no text on its pages\)/,
    );
    assert.match(letters.get('default/broken/locked.pdf')!.reason, /password-protected/);
    for (const id of ['broken/truncated.pdf', 'broken/locked.pdf', 'broken/scan.pdf', 'broken/renamed.docx'])
      assert.deepEqual(await pointsOf(id), [], `${id} was not written`);
  });

  it('updates and deletes document files like any document: a new version replaces the passages, a tombstone removes every page', async () => {
    const docx = await docxFile([
      '# Winter hives',
      'Nothing about fondant any more: this letter is now about bottling plum jam in September.',
    ]);
    await producer.upsert([
      {
        id: 'letters/bees.docx',
        title: 'bees.docx',
        media: { type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', data: docx.toString('base64') },
      },
    ]);
    await waitFor(
      'the new version indexed',
      async () => ((await pointsOf('letters/bees.docx')).some((p) => /plum jam/.test(String(p.text))) ? true : undefined),
      300_000,
      500,
    );
    assert.ok(
      (await pointsOf('letters/bees.docx')).every((p) => !/fifteen kilograms/.test(String(p.text))),
      'no chunk of the old version is left',
    );

    await producer.delete([{ id: 'manuals/shared-mime-info-spec.pdf' }]);
    await waitFor(
      'every page of the PDF deleted',
      async () => ((await pointsOf('manuals/shared-mime-info-spec.pdf')).length === 0 ? true : undefined),
      300_000,
      500,
    );
    const hits = await search('how can a program tell that a directory is a mount point');
    assert.ok(!hits.some((hit) => hit.docId === 'manuals/shared-mime-info-spec.pdf'), show(hits));
  });
});
