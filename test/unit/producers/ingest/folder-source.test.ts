import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fileDocument, listFiles, type FolderRecord } from '../../../../producers/ingest/index.ts';

describe('fileDocument: document files', () => {
  let dir: string;
  let records: Map<string, FolderRecord>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'searchbus-folder-'));
    await writeFile(join(dir, 'spec.pdf'), '%PDF-1.4 …');
    await writeFile(join(dir, 'letter.docx'), 'PK…');
    await writeFile(join(dir, 'page.html'), '<p>hi</p>');
    await writeFile(join(dir, 'old.htm'), '<p>hi</p>');
    await writeFile(join(dir, 'notes.md'), '# Notes');
    await writeFile(join(dir, 'big.txt'), 'word '.repeat(40));
    await writeFile(join(dir, 'legacy.doc'), 'OLE');
    await writeFile(join(dir, 'parse.py'), 'def f():\n    pass\n');
    await writeFile(join(dir, 'Main.java'), 'class Main {}');
    records = new Map();
    for (const file of await listFiles(dir))
      records.set(file.path.slice(dir.length + 1), await fileDocument(dir, file, { mediaInlineMaxBytes: 100 }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('publishes PDF, DOCX and HTML files as document media with their MIME type, counted by format', () => {
    const kinds = Object.fromEntries([...records].map(([path, r]) => [path, r.kind]));
    assert.deepEqual(kinds, {
      'big.txt': 'text',
      'legacy.doc': 'skipped',
      'letter.docx': 'docx',
      'Main.java': 'code',
      'notes.md': 'text',
      'old.htm': 'html',
      'page.html': 'html',
      'parse.py': 'code',
      'spec.pdf': 'pdf',
    });
    const pdf = records.get('spec.pdf')!;
    assert.ok(pdf.kind !== 'skipped');
    assert.deepEqual(pdf.document, {
      id: 'spec.pdf',
      title: 'spec.pdf',
      media: { type: 'application/pdf', data: Buffer.from('%PDF-1.4 …').toString('base64') },
    });
    const docx = records.get('letter.docx')!;
    assert.ok(
      docx.kind !== 'skipped' && docx.document.media?.type === 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
  });

  it('publishes source files as code media, typed by their language', () => {
    const python = records.get('parse.py')!;
    assert.ok(python.kind === 'code');
    assert.deepEqual(python.document.media, { type: 'text/x-python', data: Buffer.from('def f():\n    pass\n').toString('base64') });
    const java = records.get('Main.java')!;
    assert.ok(java.kind === 'code' && java.document.media?.type === 'text/x-java');
  });

  it('keeps Markdown and text as text, and sends a text file over the inline limit by uri (text/plain)', () => {
    const md = records.get('notes.md')!;
    assert.ok(md.kind === 'text' && md.document.text === '# Notes' && md.document.media === undefined);
    const big = records.get('big.txt')!;
    assert.ok(big.kind === 'text');
    assert.deepEqual(big.document.media, { type: 'text/plain', uri: pathToFileURL(join(dir, 'big.txt')).href });
    assert.equal(big.document.text, undefined);
  });

  it('skips a legacy .doc with a reason naming the supported types', () => {
    const doc = records.get('legacy.doc')!;
    assert.ok(
      doc.kind === 'skipped' &&
        /\.doc: not a supported type \(txt, md, markdown, jpg, .*pdf, docx, html, htm, xhtml, ts, .*py, go, rs, java, c, .*cpp.*\)/.test(
          doc.reason,
        ),
      JSON.stringify(doc),
    );
  });
});
