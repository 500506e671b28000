import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_TENANT, pointId } from '../../topology/index.ts';
import { deadLetters } from '../support/dead-letters.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';
import { jobEnded, startReindexStack } from '../support/reindex-stack.ts';

// Code as documents, end to end on real Kafka, Redis, Qdrant, the text model and tree-sitter: a
// folder of source files (kafkajs's utilities from node_modules, a Python module and a Go file
// written here, a binary named .py) goes through `searchbus ingest <folder>`; each function is a
// point with its language, symbol and lines; `searchbus search --code` with a renamed, reformatted
// copy of one function finds that function first and prints its symbol and lines; the binary is
// dead-lettered with its reason; a rebuild parses the files again and carries the functions over.
const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
const KAFKAJS_UTILS = fileURLToPath(new URL('../../node_modules/kafkajs/src/utils/', import.meta.url));

const PYTHON = `"""Reading HTTP-style headers."""

import re

HEADER = re.compile(r"^([A-Za-z0-9-]+):\\s*(.*)$")


def parse_header(line, lowercase=True):
    """Splits one 'Name: value' line; None when it is not one."""
    match = HEADER.match(line.strip())
    if match is None:
        return None
    name, value = match.group(1), match.group(2)
    if lowercase:
        name = name.lower()
    return name, value.strip()


class HeaderBlock:
    def __init__(self):
        self.fields = {}

    def add_lines(self, lines):
        for line in lines:
            parsed = parse_header(line)
            if parsed is not None:
                key, value = parsed
                self.fields.setdefault(key, []).append(value)
        return len(self.fields)
`;

// The same parse_header as a colleague might paste it: other names, no comments, other spacing.
const RENAMED = `def read_field(text, fold=True):
    m = HEADER.match(text.strip())
    if m is None:
        return None
    key, val = m.group(1), m.group(2)
    if fold:
        key = key.lower()
    return key, val.strip()
`;

const GO = `package ring

// Ring is a fixed-size buffer that overwrites its oldest entry.
type Ring struct {
	items []int
	next  int
}

func (r *Ring) Push(value int) {
	r.items[r.next%len(r.items)] = value
	r.next++
}
`;

describe('code: a folder of source files, searched by code', () => {
  let h: Harness;
  let stack: MediaStack;
  let folder: string;
  let queryFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_REINDEX_GRACE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    stack = await startMediaStack(h, { ocr: false });
    folder = await mkdtemp(join(tmpdir(), 'searchbus-code-'));
    await mkdir(join(folder, 'kafkajs'));
    for (const file of await readdir(KAFKAJS_UTILS)) await copyFile(join(KAFKAJS_UTILS, file), join(folder, 'kafkajs', file));
    await writeFile(join(folder, 'headers.py'), PYTHON);
    await writeFile(join(folder, 'ring.go'), GO);
    // A binary under a source name: an image's first bytes.
    await writeFile(
      join(folder, 'logo.py'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
    );
    queryFile = join(folder, '..', `${folder.split('/').at(-1)}-query.py`);
    await writeFile(queryFile, RENAMED);
    env = {
      ...process.env,
      ...h.env,
      KAFKA_BROKERS: h.services.kafka.brokers.join(','),
      REDIS_URL: h.services.redis.url,
      QDRANT_URL: h.services.qdrant.url,
    };
  });

  after(async () => {
    try {
      await stack?.close();
    } finally {
      await h?.close();
      if (folder) await rm(folder, { recursive: true, force: true });
      if (queryFile) await rm(queryFile, { force: true });
    }
  });

  const alias = (): string => h.topology.qdrant.alias;
  const cli = async (args: string[]): Promise<string> =>
    (await promisify(execFile)(process.execPath, [CLI, ...args], { env, maxBuffer: 16 * 1024 * 1024 })).stdout;

  it('`searchbus ingest <folder>` publishes source files as code; each function is a point with its language, symbol and lines', async () => {
    const summary = JSON.parse((await cli(['ingest', folder, '--json'])).trim().split('\n').at(-1)!) as {
      byType: Record<string, { published: number; skipped: number }>;
    };
    const files = (await readdir(KAFKAJS_UTILS)).length + 3;
    assert.deepEqual(summary.byType, { code: { published: files, skipped: 0 } });
    await waitFor(
      'the Python and Go files indexed',
      async () => {
        for (const id of ['headers.py', 'ring.go', 'kafkajs/waitFor.js']) {
          const [p] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, id, 0)] });
          if (!p) return undefined;
        }
        return true;
      },
      300_000,
      500,
    );
    const points = (await allPoints(h.qdrant, alias())).map((p) => p.payload);
    const python = points.filter((p) => p.doc_id === 'headers.py');
    const symbols = python.map((p) => [p.symbol, p.start_line, p.end_line]).sort((a, b) => Number(a[1]) - Number(b[1]));
    assert.deepEqual(
      symbols.filter(([symbol]) => symbol !== undefined),
      [
        ['parse_header', 8, 16],
        ['HeaderBlock', 19, 19],
        ['HeaderBlock.__init__', 20, 21],
        ['HeaderBlock.add_lines', 23, 29],
      ],
    );
    assert.ok(python.every((p) => p.language === 'python' && (p.media as { model: string }).model.startsWith('web-tree-sitter-')));
    const go = points.filter((p) => p.doc_id === 'ring.go').map((p) => p.symbol);
    assert.ok(go.includes('Ring') && go.includes('Push'), JSON.stringify(go));
  });

  it('`searchbus search --code` with a renamed copy of a function finds that function first, with its symbol and lines', async () => {
    const stdout = await cli(['search', '--code', queryFile, '--k', '3']);
    const first = stdout.split('\n')[0] ?? '';
    assert.match(first, /headers\.py \(parse_header\(\) lines 8–16\)/, stdout);
    const json = JSON.parse((await cli(['search', '--code', queryFile, '--k', '3', '--json'])).trim()) as {
      hits: Array<{ docId: string; code?: { language: string; symbol?: string; startLine: number; endLine: number } }>;
    };
    assert.deepEqual(json.hits[0]?.code, { language: 'python', symbol: 'parse_header', startLine: 8, endLine: 16 });
    // A word query reaches code too: identifier pieces are stemmed like words.
    const words = await stack.query.client.search({ text: 'push a value into the ring buffer', topK: 3 });
    assert.equal(words.hits[0]?.docId, 'ring.go', JSON.stringify(words.hits.map((hit) => hit.docId)));
  });

  it('dead-letters a binary file named .py with its reason, and writes nothing of it', async () => {
    const letters = await deadLetters(h, 1, 120_000);
    assert.deepEqual([...letters.keys()], ['default/logo.py']);
    assert.equal(letters.get('default/logo.py')!.code, 'document-undecodable');
    assert.match(letters.get('default/logo.py')!.reason, /NUL bytes: a binary file, not source code/);
    assert.deepEqual(
      (await allPoints(h.qdrant, alias())).filter((p) => p.payload.doc_id === 'logo.py'),
      [],
    );
  });

  it('a rebuild parses the source files again: the new collection holds the same functions, and search --code still finds them', async () => {
    // Its own worker and queue (and media encoder, as the role makes it); the live encoders stay the media stack's.
    const rebuild = await startReindexStack(h, [stack.text], { live: false });
    const live = async (): Promise<string | undefined> =>
      (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === alias())?.collection_name;
    try {
      const before = await live();
      const { jobId } = await rebuild.queue.request({ modelId: h.config.model.id });
      const job = await jobEnded(rebuild.queue, jobId);
      assert.equal(job.state, 'completed', job.failedReason ?? '');
      const after = await live();
      assert.ok(after && after !== before, `the alias moved from ${before} to ${after}`);
      const symbols = (await allPoints(h.qdrant, after))
        .filter((p) => p.payload.doc_id === 'headers.py' && p.payload.symbol !== undefined)
        .map((p) => p.payload.symbol)
        .sort();
      assert.deepEqual(symbols, ['HeaderBlock', 'HeaderBlock.__init__', 'HeaderBlock.add_lines', 'parse_header']);
      const stdout = await cli(['search', '--code', queryFile, '--k', '3']);
      assert.match(stdout.split('\n')[0] ?? '', /headers\.py \(parse_header\(\) lines 8–16\)/, stdout);
    } finally {
      await rebuild.close();
    }
  });
});
