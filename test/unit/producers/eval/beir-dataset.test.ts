import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BeirFormatError, loadBeirSplit } from '../../../../producers/eval/index.ts';

describe('loadBeirSplit', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beir-'));
    await mkdir(join(dir, 'qrels'));
    await writeFile(join(dir, 'corpus.jsonl'), '{"_id":"d1","title":"","text":"x"}\n');
    await writeFile(join(dir, 'queries.jsonl'), '{"_id":"1","text":"first"}\n{"_id":2,"text":"second"}\n{"_id":"3","text":"unjudged"}\n');
    await writeFile(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n2\td1\t1\n2\td2\t2\n1\td3\t0\n');
    await writeFile(join(dir, 'qrels', 'broken.tsv'), 'query-id\tcorpus-id\tscore\n1\td1\n');
    await writeFile(join(dir, 'qrels', 'orphan.tsv'), '9\td1\t1\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps only judged queries, in qrels order, with graded judgements', async () => {
    const split = await loadBeirSplit(dir, 'test');
    assert.deepEqual(split.queries, [
      { id: '2', text: 'second' },
      { id: '1', text: 'first' },
    ]);
    assert.deepEqual([...(split.qrels.get('2') ?? [])], [
      ['d1', 1],
      ['d2', 2],
    ]);
    assert.deepEqual([...(split.qrels.get('1') ?? [])], [['d3', 0]]);
  });

  it('names the file and line of a malformed qrels row, a missing split or an unknown query', async () => {
    await assert.rejects(loadBeirSplit(dir, 'broken'), (e: unknown) => e instanceof BeirFormatError && /broken\.tsv:2/.test(e.message));
    await assert.rejects(loadBeirSplit(dir, 'dev'), (e: unknown) => e instanceof BeirFormatError && /dev\.tsv is missing/.test(e.message));
    await assert.rejects(loadBeirSplit(dir, 'orphan'), (e: unknown) => e instanceof BeirFormatError && /query 9/.test(e.message));
  });
});
