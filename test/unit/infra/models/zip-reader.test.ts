import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { extractZipEntry, listZipEntries } from '../../../../infra/models/zip-reader.ts';
import { ContractError } from '../../../../topology/errors.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// Builds a zip by the book (APPNOTE 4.3), independently of the reader under test.
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function makeZip(files: { name: string; data: Buffer; deflate: boolean }[], comment = ''): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const body = file.deflate ? deflateRawSync(file.data) : file.data;
    const extra = Buffer.from([0xfe, 0xca, 0x00, 0x00]); // like jar's 0xCAFE marker: local header only
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(file.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(file.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(file.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc32(file.data), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, extra, body);
    centrals.push(central, name);
    offset += local.length + name.length + extra.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const commentBytes = Buffer.from(comment, 'utf8');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(commentBytes.length, 20);
  return Buffer.concat([...locals, directory, end, commentBytes]);
}

describe('zip reader', () => {
  let dir: string;
  const big = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
  const files = [
    { name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\n'), deflate: true },
    { name: 'model.onnx', data: big, deflate: true },
    { name: 'tokenizer.json', data: Buffer.from('{"stored":true}'), deflate: false },
    { name: 'empty.txt', data: Buffer.alloc(0), deflate: false },
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zip-reader-'));
    await writeFile(join(dir, 'test.jar'), makeZip(files, 'a trailing comment'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the entries of the central directory', async () => {
    const entries = await listZipEntries(join(dir, 'test.jar'));
    assert.deepEqual(
      entries.map((e) => [e.name, e.method, e.uncompressedSize]),
      files.map((f) => [f.name, f.deflate ? 8 : 0, f.data.length]),
    );
  });

  it('extracts deflated, stored and empty entries byte for byte and hashes them', async () => {
    const entries = await listZipEntries(join(dir, 'test.jar'));
    for (const file of files) {
      const entry = entries.find((e) => e.name === file.name)!;
      const out = join(dir, `out-${file.name.replaceAll('/', '_')}`);
      const sha = await extractZipEntry(join(dir, 'test.jar'), entry, out);
      assert.deepEqual(await readFile(out), file.data);
      assert.equal(sha, createHash('sha256').update(file.data).digest('hex'));
    }
  });

  it('refuses to overwrite an existing file', async () => {
    const entries = await listZipEntries(join(dir, 'test.jar'));
    const out = join(dir, 'exists');
    await writeFile(out, 'keep');
    await assert.rejects(extractZipEntry(join(dir, 'test.jar'), entries[2]!, out), { code: 'EEXIST' });
    assert.equal(await readFile(out, 'utf8'), 'keep');
  });

  it('rejects a file that is not a zip', async () => {
    await writeFile(join(dir, 'not.jar'), 'just text, no end of central directory');
    await assert.rejects(listZipEntries(join(dir, 'not.jar')), errorOf(ContractError, 'zip-format', /not\.jar: not a zip file/));
  });

  it('detects an entry whose size does not match its data', async () => {
    const entries = await listZipEntries(join(dir, 'test.jar'));
    const entry = { ...entries.find((e) => e.name === 'tokenizer.json')!, uncompressedSize: 999 };
    await assert.rejects(extractZipEntry(join(dir, 'test.jar'), entry, join(dir, 'bad-size')), /expected 999/);
  });
});
