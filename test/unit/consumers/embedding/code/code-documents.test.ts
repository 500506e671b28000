import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeSegments, codeTerms, extractDocument, identifierPieces, SparseAnalyzer } from '../../../../../consumers/embedding/index.ts';
import { CODE_EXTENSIONS, ContractError, DEFAULT_ANALYZER_ID, getAnalyzerSpec, type CodeLanguage } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const words = new SparseAnalyzer(getAnalyzerSpec(DEFAULT_ANALYZER_ID));
const spans = async (language: CodeLanguage, text: string): Promise<Array<[string | undefined, number, number]>> =>
  (await codeSegments(language, text)).map((s) => [s.symbol, s.startLine, s.endLine]);

describe('codeSegments: a source file cut at function and class boundaries', () => {
  it('TypeScript: exported functions with their doc comment, each method of a class, arrow functions held in a const', async () => {
    const source = [
      "import { x } from 'y';",
      '',
      '/** Adds. */',
      'export function add(a: number, b: number) {',
      '  return a + b;',
      '}',
      'class Box {',
      '  size = 1;',
      '  grow(by: number) {',
      '    this.size += by;',
      '  }',
      '}',
      'const twice = (f: (n: number) => number) => (n: number) => f(f(n));',
    ].join('\n');
    assert.deepEqual(await spans('typescript', source), [
      [undefined, 1, 2],
      ['add', 3, 6],
      ['Box', 7, 8],
      ['Box.grow', 9, 11],
      ['twice', 13, 13],
    ]);
  });

  it('Python, Go, Rust, Java, C and C++: functions, methods and types by name', async () => {
    assert.deepEqual(
      await spans('python', 'import os\n\nclass A:\n    @staticmethod\n    def f(a):\n        return a\n\ndef g():\n    pass\n'),
      [
        [undefined, 1, 2],
        ['A', 3, 3],
        ['A.f', 4, 6],
        ['g', 8, 9],
      ],
    );
    assert.deepEqual(await spans('go', 'package m\n\nfunc (s *S) Get() int {\n\treturn 1\n}\n\ntype S struct{}\n'), [
      [undefined, 1, 2],
      ['Get', 3, 5],
      ['S', 7, 7],
    ]);
    assert.deepEqual(await spans('rust', 'impl Shape for Square {\n    fn area(&self) -> f64 { self.0 * self.0 }\n}\nfn main() {}\n'), [
      ['Shape for Square', 1, 1],
      ['Shape for Square.area', 2, 2],
      ['main', 4, 4],
    ]);
    assert.deepEqual(await spans('java', 'class Counter {\n  int n;\n  void inc() { n++; }\n}\n'), [
      ['Counter', 1, 2],
      ['Counter.inc', 3, 3],
    ]);
    assert.deepEqual(await spans('c', '#include <stdio.h>\nstatic int *first(int *xs) {\n  return xs;\n}\n'), [
      [undefined, 1, 1],
      ['first', 2, 4],
    ]);
    assert.deepEqual(await spans('cpp', 'int Stack::pop() {\n  return items[--top];\n}\n'), [['Stack::pop', 1, 3]]);
  });

  it('keeps text that does not parse: tree-sitter recovers, and every line still lands in a segment', async () => {
    const broken = 'def ok(a):\n    return a\n\ndef broken(:\n    ))) whatever\n';
    const segments = await codeSegments('python', broken);
    assert.equal(segments[0]?.symbol, 'ok');
    assert.match(segments.map((s) => s.text).join('\n'), /whatever/);
  });
});

describe('extractDocument: source files', () => {
  it('gives one segment per function with its language, symbol and lines', async () => {
    const segments = await extractDocument(CODE_EXTENSIONS['.py']!, Buffer.from('def parse_header(line):\n    return line.split(":")\n'));
    assert.deepEqual(segments, [
      {
        text: 'def parse_header(line):\n    return line.split(":")',
        code: { language: 'python', symbol: 'parse_header', startLine: 1, endLine: 2 },
      },
    ]);
  });

  it('refuses a binary file named like source code (NUL bytes), and bytes that are not UTF-8', async () => {
    await assert.rejects(
      extractDocument('text/x-python', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d])),
      (error: unknown) => errorOf(ContractError, 'document-undecodable')(error) && /NUL bytes/.test((error as Error).message),
    );
    await assert.rejects(
      extractDocument('text/x-go', Buffer.from([0x70, 0xff, 0xfe, 0x71])),
      errorOf(ContractError, 'document-undecodable'),
    );
  });
});

describe('code terms: what the sparse vector of code holds', () => {
  it('splits identifiers at camelCase, snake_case and digits', () => {
    assert.deepEqual(identifierPieces('parseHTTPHeader2'), ['parse', 'http', 'header', '2']);
    assert.deepEqual(identifierPieces('MAX_RETRY_count'), ['max', 'retry', 'count']);
  });

  it('stems identifier pieces like words, keeps comment words, drops keywords and receivers', async () => {
    const terms = await codeTerms(
      'python',
      '# Reads the headers\ndef read_headers(self, lines):\n    return [l for l in lines if l]\n',
      words,
    );
    const plain = terms.filter((t) => !t.startsWith('§'));
    assert.ok(plain.includes('header') && plain.includes('read') && plain.includes('read_headers'), plain.join(' '));
    for (const dropped of ['def', 'return', 'for', 'if', 'self', 'in']) assert.ok(!plain.includes(dropped), `${dropped} is dropped`);
  });

  it('gives renamed code the same structure terms', async () => {
    const structure = async (text: string): Promise<string[]> =>
      (await codeTerms('javascript', text, words)).filter((t) => t.startsWith('§')).sort();
    assert.deepEqual(
      await structure('function total(items) { let sum = 0; for (const item of items) sum += item.price; return sum; }'),
      await structure('function f(xs) {\n  let a = 0\n  for (const x of xs) a += x.price\n  return a\n}'),
    );
  });
});
