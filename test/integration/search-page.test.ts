import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { queryEncoder } from '../../consumers/query/index.ts';
import { WatchMatcher, WatchRegistry } from '../../consumers/watch/index.ts';
import { ApiKeyStore, createApiKey, credentialAuthenticator, startGateway, type RunningGateway } from '../../infra/gateway/index.ts';
import { createRedis } from '../../infra/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { WatchClient } from '../../producers/watch-client/index.ts';
import { DEFAULT_WATCH_THRESHOLD } from '../../topology/index.ts';
import { artifactsDir, launchChromium } from '../support/browser.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';
import type { QueryStack } from '../support/query-stack.ts';

// The gateway's search page in a real browser (Debian's headless Chromium through playwright-core)
// against real Kafka, Redis, the Qdrant engine and the real models: the demo corpus and six photos
// of one tenant, behind API-key authentication, with the watch matcher running (started once the
// corpus is indexed, at the end of the feed). Screenshots of real searches are kept as artefacts.
// What runs inside the page is given as source text: the project's types are Node's, not the DOM's.
const PHOTOS = new URL('../fixtures/media/photos/', import.meta.url);
const PHOTO_NAMES = ['dogs', 'ladybird', 'mountain', 'paintbrushes', 'stream', 'yellow-flower'];
const CORPUS = new URL('../../infra/demo/sample-corpus.jsonl', import.meta.url);
const TENANT = 'acme';

describe('search page', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let stack: QueryStack;
  let gateway: RunningGateway;
  let browser: Browser;
  let page: Page;
  let base: string;
  let apiKey: string;
  let corpus: DocumentInput[];
  let watchRedis: Redis;
  let matcher: WatchMatcher;
  const matcherGroup = (): string => `${h.namespace}.page-watch-matcher`;
  /** Errors the page logged (a script error, a request the CSP refused): there must be none. */
  const pageErrors: string[] = [];

  before(async () => {
    h = await createHarness();
    // The photos hold no text: OCR is off.
    mediaStack = await startMediaStack(h, { ocr: false });
    stack = mediaStack.query;

    corpus = (await readFile(CORPUS, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => ({ ...(JSON.parse(line) as DocumentInput), tenant: TENANT }));
    const photos: DocumentInput[] = await Promise.all(
      PHOTO_NAMES.map(async (name) => ({
        id: `photos/${name}.jpg`,
        title: `${name}.jpg`,
        tenant: TENANT,
        metadata: { album: 'garden' },
        media: { type: 'image/jpeg', data: (await readFile(new URL(`${name}.jpg`, PHOTOS))).toString('base64') },
      })),
    );
    await mediaStack.producer.upsert([...corpus, ...photos]);
    const documents = corpus.length + photos.length;
    await waitFor(
      'every document indexed',
      async () =>
        (await h.qdrant.count(h.topology.qdrant.alias, { exact: true, filter: { must: [{ key: 'chunk', match: { value: 0 } }] } })).count >=
        documents
          ? true
          : undefined,
      600_000,
      500,
    );

    // "Watch this search" from the page: the matcher on the feed, the gateway's /watches on the registry.
    watchRedis = createRedis(h.services.redis, `test-${h.namespace}-page-watch`);
    const embedQueries = (): Promise<(texts: string[]) => Promise<Float32Array[]>> => {
      const encoder = queryEncoder(mediaStack.text);
      return Promise.resolve((texts) => encoder.embedQueries(texts));
    };
    const watchDeps = { qdrant: h.qdrant, topology: h.topology, config: h.config, embedQueries, media: mediaStack.media };
    matcher = new WatchMatcher({ ...watchDeps, kafka: h.kafka, redis: watchRedis, groupId: matcherGroup() });
    await matcher.start();
    const watches = new WatchClient({ kafka: h.kafka, topology: h.topology, registry: new WatchRegistry(watchDeps) });

    const key = await createApiKey({ tenants: [TENANT], label: 'search-page test' });
    apiKey = key.key;
    gateway = await startGateway({
      searcher: stack.client,
      port: 0,
      host: '127.0.0.1',
      timeoutMs: 60_000,
      authenticator: credentialAuthenticator({ apiKeys: new ApiKeyStore([key.entry]), jwt: null }),
      limits: { maxBodyBytes: 64 * 1024, maxUrlBytes: 8 * 1024, maxUploadBytes: h.config.media.inlineMaxBytes },
      watches,
    });
    base = `http://127.0.0.1:${gateway.port}/`;

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(120_000);
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      // Chromium logs every 4xx answer as a failed load; the page asks for the 401 on purpose.
      if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 401/.test(message.text())) {
        pageErrors.push(`console: ${message.text()}`);
      }
    });
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await matcher?.close();
    await watchRedis?.quit();
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
    }
  });

  const titles = (): Promise<string[]> => page.locator('#hits .hit-title').allTextContents();
  const inPage = <T>(source: string): Promise<T> => page.evaluate(source);
  const focusedId = (): Promise<string> => inPage<string>("document.activeElement?.id ?? ''");
  const titleOf = (id: string): string => corpus.find((d) => d.id === id)!.title!;
  const screenshot = async (name: string): Promise<void> => {
    const path = join(await artifactsDir(), name);
    await page.screenshot({ path, fullPage: true });
    const png = await sharp(path).metadata();
    assert.ok(png.width > 0 && png.height > 0, `screenshot ${path}`);
  };

  it('types a query and sees hits, once the API key is given where the page asks for it', async () => {
    await page.goto(base);
    await page.locator('html[data-ready="true"]').waitFor();
    assert.equal(
      await page.locator('#access').getAttribute('open'),
      '',
      'the gateway needs a credential, so the page opens its access section',
    );
    await page.locator('#options summary').click();
    await page.locator('#mode').selectOption('dense');
    await page.locator('#q').fill('how do stars die');
    await page.locator('#q').press('Enter');

    // Without the key: the gateway's 401, shown as it is, and the key field gets the focus.
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match((await page.locator('#error').textContent()) ?? '', /\(unauthorized, HTTP 401\)/);
    assert.equal(await focusedId(), 'key');
    await page.keyboard.type(apiKey);
    await page.keyboard.press('Enter');

    await page.locator('#hits li').first().waitFor();
    const found = await titles();
    assert.equal(found[0], titleOf('astro-supernova'), JSON.stringify(found));
    assert.ok(found.length >= 3 && found.length <= 10, `k = 10 by default: ${found.length}`);
    assert.match((await page.locator('#status').textContent()) ?? '', /results? for how do stars die · dense · all-minilm-l6-v2 · \d+ ms/);
    assert.equal(await page.locator('#error').isHidden(), true);
    assert.match(page.url(), /\?q=how%20do%20stars%20die$/, 'the search is in the address, to share');

    // A filter from the options: only the photos' album, which no text document has.
    await page.locator('#filters').fill('album=garden');
    await page.locator('#q').press('Enter');
    await waitFor(
      'the filtered results',
      async () => ((await titles()).every((t) => t.endsWith('.jpg')) && (await titles()).length > 0) || undefined,
      120_000,
    );
    await page.locator('#filters').fill('');
  });

  it('drops a photo (a large, flipped, brightened PNG the page shrinks to fit) and sees that photo first, with thumbnails', async () => {
    const original = await readFile(new URL('ladybird.jpg', PHOTOS));
    const large = await sharp(original).resize({ width: 2400 }).flop().modulate({ brightness: 1.15 }).png().toBuffer();
    assert.ok(large.length > h.config.media.inlineMaxBytes, `the dropped file (${large.length} bytes) is over the upload limit`);
    // What a drag from the file manager delivers: a DataTransfer holding the file, over the drop zone.
    await inPage(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(large.toString('base64'))}), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'IMG_2041.png', { type: 'image/png' }));
      const zone = document.getElementById('drop');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await page.locator('#status', { hasText: 'for IMG_2041' }).waitFor();
    const found = await titles();
    assert.equal(found[0], 'ladybird.jpg', JSON.stringify(found));
    assert.match((await page.locator('#status').textContent()) ?? '', / · dense · /, 'a query by example is searched by its embedding');
    assert.equal(await page.locator('#q').inputValue(), '', 'the file replaced the text query');
    assert.match((await page.locator('#chosen-name').textContent()) ?? '', /Searching by image: IMG_2041\.png/);
    // Thumbnails from the points' payload, decoded by the browser (the CSP allows data: images).
    const thumbs = await inPage<number[]>("[...document.querySelectorAll('#hits img.thumb')].map((image) => image.naturalWidth)");
    assert.ok(thumbs.length >= 1 && thumbs.every((w) => w > 0 && w <= 160), `decoded thumbnails: ${JSON.stringify(thumbs)}`);
    await screenshot('search-page-image-query.png');

    await page.locator('#clear-file').click();
    assert.equal(await page.locator('#chosen').isHidden(), true);
    assert.equal(await focusedId(), 'file', 'removing the file returns the focus to the file picker');
  });

  it('reaches a result and opens it by keyboard alone', async () => {
    await page.goto(base);
    await page.locator('html[data-ready="true"]').waitFor();
    assert.equal(await page.locator('#key').inputValue(), apiKey, 'the key stays for this tab');
    await page.keyboard.press('/');
    assert.equal(await focusedId(), 'q');
    await page.keyboard.type('how do plants make their own food');
    await page.keyboard.press('Enter');
    await page.locator('#hits li').first().waitFor();

    // Tab through the page, as someone without a mouse would, until a result has the focus.
    const onResult = (): Promise<number> =>
      inPage<number>("[...document.querySelectorAll('#hits .hit-title')].indexOf(document.activeElement)");
    let tabs = 0;
    while ((await onResult()) < 0 && tabs < 40) {
      await page.keyboard.press('Tab');
      tabs += 1;
    }
    assert.equal(await onResult(), 0, `the first result is reached by Tab (${tabs} presses)`);
    const outline = await inPage<string>('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none', 'the focused result shows a focus ring');

    await page.keyboard.press('Enter');
    const first = page.locator('#hits .hit').first();
    assert.equal(await first.locator('.hit-title').getAttribute('aria-expanded'), 'true');
    await first.locator('dl.details').waitFor({ state: 'visible' });
    assert.match((await first.locator('dl.details').textContent()) ?? '', /document/);

    // Arrow keys move between results and back to the search box.
    await page.keyboard.press('ArrowDown');
    assert.equal(await onResult(), 1);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    assert.equal(await focusedId(), 'q');
    await screenshot('search-page-keyboard.png');
  });

  it('is readable on a phone: one column, no sideways scrolling, 16 px inputs, 44 px targets', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}?q=${encodeURIComponent('how does a database survive a sudden power cut')}`);
    await page.locator('#hits li').first().waitFor();
    const layout = await inPage<{
      scrollWidth: number;
      inputFont: number;
      button: number;
      result: number;
      thresholdFont: number;
      threshold: number;
      watchButton: number;
    }>(`({
      scrollWidth: document.documentElement.scrollWidth,
      inputFont: parseFloat(getComputedStyle(document.getElementById('q')).fontSize),
      button: document.querySelector('button[type="submit"]').getBoundingClientRect().height,
      result: document.querySelector('#hits .hit-title').getBoundingClientRect().height,
      thresholdFont: parseFloat(getComputedStyle(document.getElementById('watch-threshold')).fontSize),
      threshold: document.getElementById('watch-threshold').getBoundingClientRect().height,
      watchButton: document.getElementById('watch-start').getBoundingClientRect().height,
    })`);
    assert.ok(layout.scrollWidth <= 390, `no horizontal scrolling: ${layout.scrollWidth}px wide`);
    assert.ok(layout.inputFont >= 16 && layout.thresholdFont >= 16, `inputs at 16 px or more: ${JSON.stringify(layout)}`);
    assert.ok(
      layout.button >= 44 && layout.result >= 44 && layout.watchButton >= 44 && layout.threshold >= 44,
      `touch targets: ${JSON.stringify(layout)}`,
    );
    await screenshot('search-page-phone.png');
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  it('answers multipart uploads with typed errors: no key, too large, wrong type, q and a file, another tenant, an undecodable image', async () => {
    const post = async (
      fill: (form: FormData) => void,
      key: string | null = apiKey,
    ): Promise<{ status: number; code: string | undefined; message: string }> => {
      const form = new FormData();
      fill(form);
      const response = await fetch(`${base}search`, { method: 'POST', body: form, headers: key ? { authorization: `Bearer ${key}` } : {} });
      const body = (await response.json()) as { error?: { code: string; message: string } };
      return { status: response.status, code: body.error?.code, message: body.error?.message ?? '' };
    };
    const jpeg = await readFile(new URL('paintbrushes.jpg', PHOTOS));
    const photo = (form: FormData): void => form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'paintbrushes.jpg');
    assert.deepEqual((await post(photo, null)).status, 401);
    const limit = h.config.media.inlineMaxBytes;
    const tooLarge = await post((f) => f.append('file', new Blob([Buffer.alloc(limit + 1)], { type: 'image/jpeg' }), 'huge.jpg'));
    assert.deepEqual([tooLarge.status, tooLarge.code], [413, 'payload-too-large']);
    assert.match(tooLarge.message, new RegExp(`up to ${limit} bytes`));
    const pdf = await post((f) => f.append('file', new Blob(['%PDF-1.7'], { type: 'application/pdf' }), 'paper.pdf'));
    assert.deepEqual([pdf.status, pdf.code], [415, 'unsupported-media-type']);
    const both = await post((f) => (f.append('q', 'stars'), photo(f)));
    assert.deepEqual([both.status, both.code], [400, 'invalid-request']);
    const otherTenant = await post((f) => (photo(f), f.append('tenant', 'someone-else')));
    assert.deepEqual([otherTenant.status, otherTenant.code], [403, 'forbidden']);
    const broken = await post((f) => f.append('file', new Blob(['not a picture'], { type: 'image/jpeg' }), 'broken.jpg'));
    assert.deepEqual([broken.status, broken.code], [400, 'invalid-media']);
    // And the upload that is right: the photo itself, first.
    const form = new FormData();
    photo(form);
    form.append('k', '3');
    const ok = await fetch(`${base}search`, { method: 'POST', body: form, headers: { authorization: `Bearer ${apiKey}` } });
    const result = (await ok.json()) as { hits: Array<{ docId: string; media?: { thumbnail?: string } }> };
    assert.equal(ok.status, 200);
    assert.equal(result.hits[0]?.docId, 'photos/paintbrushes.jpg');
    assert.match(result.hits[0]?.media?.thumbnail ?? '', /^data:image\/webp;base64,/);
  });

  it('watches a search: a lava document appears live in the list, a baking one never does; stopping removes the watch', async () => {
    const authorized = { authorization: `Bearer ${apiKey}` };
    const listed = async (): Promise<string[]> =>
      ((await (await fetch(`${base}watches`, { headers: authorized })).json()) as { watches: Array<{ id: string }> }).watches.map(
        (w) => w.id,
      );
    const topicEnd = async (topic: string): Promise<Map<number, bigint>> =>
      new Map((await h.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    const sum = (offsets: Map<number, bigint>): bigint => [...offsets.values()].reduce((a, b) => a + b, 0n);

    await page.goto(base);
    await page.locator('html[data-ready="true"]').waitFor();
    assert.equal(await page.locator('#watch').isHidden(), true, 'nothing to watch before a search');
    await page.locator('#q').fill('volcanic eruptions');
    await page.locator('#q').press('Enter');
    await page.locator('#status', { hasText: 'for volcanic eruptions' }).waitFor();
    assert.equal(await page.locator('#watch-threshold').inputValue(), String(DEFAULT_WATCH_THRESHOLD), "the watches' default threshold");
    // all-MiniLM-L6-v2 scores the lava paragraph about 0.61 against these words (docs/watches.md): 0.5 leaves room.
    await page.locator('#watch-threshold').fill('0.5');
    // By keyboard: the button follows the threshold field.
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(), 'watch-start');
    await page.keyboard.press('Enter');
    await page.locator('#watch-status', { hasText: 'new matches appear below' }).waitFor();
    const watchId = (await page.locator('#watch').getAttribute('data-watch-id')) ?? '';
    assert.match((await page.locator('#watch-status').textContent()) ?? '', new RegExp(`watch ${watchId}`), 'the page shows the watch id');
    assert.deepEqual(await listed(), [watchId]);
    const matchesBefore = sum(await topicEnd(h.topology.topics.matches));

    await mediaStack.producer.upsert([
      { id: 'lava', tenant: TENANT, title: 'Lava flows', text: 'Molten lava poured down the slopes of the volcano after the eruption.' },
    ]);
    await page.locator('#watch-matches li').first().waitFor();
    const shown = (): Promise<string[]> => page.locator('#watch-matches .hit-title').allTextContents();
    assert.match((await shown())[0] ?? '', /^new: Lava flows score 0\.\d\d$/);

    // The baking document: on the feed, and every feed event handled (its matches published) by the matcher.
    const feedBefore = await topicEnd(h.topology.topics.indexed);
    await mediaStack.producer.upsert([
      { id: 'bread', tenant: TENANT, title: 'Baking bread', text: 'Knead the dough, let it rise, and bake the loaf in a hot oven.' },
    ]);
    // The partitions the feed grew on since (the baking document's, at least); the matcher commits
    // only partitions it read from, so the others (the corpus, before it joined) have no offset.
    const grown = await waitFor('the baking document on the feed', async () => {
      const end = [...(await topicEnd(h.topology.topics.indexed))].filter(
        ([partition, offset]) => offset > (feedBefore.get(partition) ?? 0n),
      );
      return end.length > 0 ? end : undefined;
    });
    await waitFor('the matcher past the feed events since', async () => {
      const [committed] = await h.admin.fetchOffsets({ groupId: matcherGroup(), topics: [h.topology.topics.indexed] });
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      if (grown.every(([partition, end]) => (at.get(partition) ?? -1n) >= end)) return true;
      // Thrown, so a timeout says where the matcher stood.
      throw new Error(`feed ends ${String(grown)}, committed ${String([...at])}`);
    });
    // One match event in all: the page, which only shows what is on the matches topic, holds exactly the lava one.
    assert.equal(sum(await topicEnd(h.topology.topics.matches)) - matchesBefore, 1n);
    assert.equal((await shown()).length, 1, JSON.stringify(await shown()));
    assert.match((await shown())[0] ?? '', /^new: Lava flows /);
    await page.locator('#watch-matches .hit-title').first().click();
    assert.match((await page.locator('#watch-matches dl.details').textContent()) ?? '', /documentlava/);
    await screenshot('search-page-watch.png');

    await page.locator('#watch-stop').click();
    await page.locator('#watch-status', { hasText: `Stopped watching: watch ${watchId} removed.` }).waitFor();
    assert.equal(await focusedId(), 'watch-start');
    assert.deepEqual(await listed(), [], 'GET /watches no longer lists it');
  });

  it('logged no script error and broke no content security rule', () => {
    assert.deepEqual(pageErrors, []);
  });
});
