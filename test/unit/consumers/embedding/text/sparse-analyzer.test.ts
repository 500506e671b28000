import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SparseAnalyzer } from '../../../../../consumers/embedding/index.ts';
import { getAnalyzerSpec } from '../../../../../topology/index.ts';

const spec = getAnalyzerSpec('en-porter-v1');

describe('SparseAnalyzer', () => {
  const analyzer = new SparseAnalyzer(spec);

  it('lowercases, drops stop words and punctuation, stems with Porter', () => {
    assert.deepEqual(analyzer.terms('The Mutations of BRCA1, in running genes!'), ['mutat', 'brca1', 'run', 'gene']);
  });

  it('keeps numbers and gene-like tokens, splits on hyphens like ICU does', () => {
    assert.deepEqual(analyzer.terms('IL-6 levels rose 25%'), ['il', '6', 'level', 'rose', '25']);
  });

  it('gives a query one unit weight per distinct term, sorted unique indices', () => {
    const q = analyzer.query('genes gene GENES cancer');
    assert.equal(q.indices.length, 2);
    assert.deepEqual(q.values, [1, 1]);
    assert.ok(q.indices[0]! < q.indices[1]!);
    assert.ok(q.indices.every((i) => Number.isInteger(i) && i >= 0 && i <= 0xffffffff));
  });

  it('maps the same term to the same index in documents and queries', () => {
    const d = analyzer.document('Cancer cells divide.');
    const q = analyzer.query('dividing cancer');
    assert.deepEqual(new Set(q.indices), new Set(d.indices.filter((i) => q.indices.includes(i))));
    assert.equal(q.indices.filter((i) => d.indices.includes(i)).length, 2);
  });

  it('saturates term frequency (BM25 k1) and normalises by length (b)', () => {
    const once = analyzer.document('gene').values[0]!;
    const thrice = analyzer.document('gene gene gene').values[0]!;
    assert.ok(thrice > once && thrice < 3 * once, `tf saturation: ${once} -> ${thrice}`);
    assert.ok(thrice < spec.k1 + 1);
    const short = analyzer.document('gene cell').values;
    const long = analyzer.document(`gene ${'cell '.repeat(200)}`);
    const geneIndex = analyzer.index('gene');
    const inLong = long.values[long.indices.indexOf(geneIndex)]!;
    assert.ok(inLong < short[analyzer.document('gene cell').indices.indexOf(geneIndex)]!, 'a term weighs less in a longer chunk');
  });

  it('gives text without any term an empty vector', () => {
    assert.deepEqual(analyzer.query('the of and ...'), { indices: [], values: [] });
  });
});

describe('SparseAnalyzer en-porter-v2 (Snowball English stop words)', () => {
  const v1 = new SparseAnalyzer(getAnalyzerSpec('en-porter-v1'));
  const v2 = new SparseAnalyzer(getAnalyzerSpec('en-porter-v2'));

  it('drops question words, auxiliaries and negations that v1 kept', () => {
    // The demo questions: v1 kept "why" and "does" (stemmed "doe"), rare words in a small corpus.
    assert.deepEqual(v1.terms('why does bread rise'), ['why', 'doe', 'bread', 'rise']);
    assert.deepEqual(v2.terms('why does bread rise'), ['bread', 'rise']);
    assert.deepEqual(v2.terms('Why do some songs sound sad?'), ['song', 'sound', 'sad']);
    assert.deepEqual(v1.terms('Vitamin D does not lower the risk'), ['vitamin', 'd', 'doe', 'not', 'lower', 'risk']);
    assert.deepEqual(v2.terms('Vitamin D does not lower the risk'), ['vitamin', 'd', 'lower', 'risk']);
  });

  it('reads a typographic apostrophe as an ASCII one, so contractions are stop words either way', () => {
    assert.deepEqual(v2.terms("it doesn’t and it doesn't"), []);
    // v1 keeps its behaviour: a changed setting is a new analyzer id, never a changed one.
    assert.deepEqual(v1.terms('doesn’t'), [stemOfV1('doesn’t')]);
  });

  it('keeps the terms SciFact claims turn on: genes, numbers, Greek letters', () => {
    assert.deepEqual(v2.terms('TNF-α and IL-6 rose by 25% in p53 mice'), ['tnf', 'α', 'il', '6', 'rose', '25', 'p53', 'mice']);
  });
});

function stemOfV1(word: string): string {
  const [term] = new SparseAnalyzer(getAnalyzerSpec('en-porter-v1')).terms(word);
  assert.ok(term !== undefined && term.includes('’'), `v1 keeps the typographic apostrophe: ${term}`);
  return term;
}
