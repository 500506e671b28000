import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadBeirSplit, parseBeirSplit, toEvalSet } from '../../../../infra/eval/index.ts';
import { ContractError } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

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
    assert.deepEqual(
      [...(split.qrels.get('2') ?? [])],
      [
        ['d1', 1],
        ['d2', 2],
      ],
    );
    assert.deepEqual([...(split.qrels.get('1') ?? [])], [['d3', 0]]);
  });

  it('names the file and line of a malformed qrels row, a missing split or an unknown query', async () => {
    await assert.rejects(loadBeirSplit(dir, 'broken'), errorOf(ContractError, 'beir-format', /broken\.tsv:2/));
    await assert.rejects(loadBeirSplit(dir, 'dev'), errorOf(ContractError, 'beir-format', /dev\.tsv is missing/));
    await assert.rejects(loadBeirSplit(dir, 'orphan'), errorOf(ContractError, 'beir-format', /query 9/));
  });

  it('parses uploaded text the same way (CRLF too), naming the upload in errors, and makes an eval set of it', async () => {
    const qrels = { lines: 'query-id\tcorpus-id\tscore\r\n2\td1\t1\r\n1\td3\t0\r\n'.split('\n'), source: 'the uploaded qrels' };
    const queries = { lines: '{"_id":"1","text":"first"}\r\n{"_id":2,"text":"second"}\r\n'.split('\n'), source: 'the uploaded queries' };
    const split = await parseBeirSplit('train', qrels, queries);
    assert.deepEqual(split.queries, [
      { id: '2', text: 'second' },
      { id: '1', text: 'first' },
    ]);
    const set = toEvalSet('claims', 'acme', 'upload', split);
    assert.deepEqual(
      { ...set, addedAt: '' },
      {
        name: 'claims',
        tenant: 'acme',
        split: 'train',
        source: 'upload',
        addedAt: '',
        queries: split.queries,
        qrels: { '2': { d1: 1 }, '1': { d3: 0 } },
      },
    );
    await assert.rejects(
      parseBeirSplit('t', { lines: ['1\td1'], source: 'the uploaded qrels' }, queries),
      /the uploaded qrels:1: expected/,
    );
    await assert.rejects(
      parseBeirSplit('t', { lines: ['9\td1\t1'], source: 'the uploaded qrels' }, queries),
      /query 9 of the uploaded qrels is not in the uploaded queries/,
    );
  });
});
