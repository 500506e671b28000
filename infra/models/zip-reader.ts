// A minimal reader for the zip container of a jar: enough to list entries and stream one out.
// It exists so that model setup needs no `unzip` binary; it handles stored and deflated entries,
// which is all a jar uses, and refuses anything else rather than guessing.
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { ContractError } from '../../topology/errors.ts';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  readonly flags: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_MIN_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const STORED = 0;
const DEFLATED = 8;

/** A file that is not a zip this reader handles: ContractError `zip-format`, naming the file. */
function zipFormat(file: string, message: string): ContractError {
  return new ContractError('zip-format', `${file}: ${message}`);
}

export async function listZipEntries(file: string): Promise<ZipEntry[]> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tailBytes = Math.min(size, EOCD_MIN_BYTES + MAX_COMMENT_BYTES);
    const tail = Buffer.alloc(tailBytes);
    await handle.read(tail, 0, tailBytes, size - tailBytes);
    let eocd = -1;
    for (let i = tailBytes - EOCD_MIN_BYTES; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw zipFormat(file, 'not a zip file (no end of central directory record)');
    const entryCount = tail.readUInt16LE(eocd + 10);
    const directoryBytes = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (entryCount === 0xffff || directoryOffset === 0xffffffff) {
      throw zipFormat(file, 'zip64 archives are not supported');
    }
    if (directoryOffset + directoryBytes > size) throw zipFormat(file, 'central directory lies outside the file');

    const directory = Buffer.alloc(directoryBytes);
    await handle.read(directory, 0, directoryBytes, directoryOffset);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < entryCount; i++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
        throw zipFormat(file, `corrupt central directory at entry ${i}`);
      }
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      entries.push({
        flags: directory.readUInt16LE(at + 8),
        method: directory.readUInt16LE(at + 10),
        compressedSize: directory.readUInt32LE(at + 20),
        uncompressedSize: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** Streams one entry to `destination`; returns the sha256 of what was written. */
export async function extractZipEntry(file: string, entry: ZipEntry, destination: string): Promise<string> {
  if (entry.flags & 0x1) throw zipFormat(file, `${entry.name} is encrypted`);
  if (entry.method !== STORED && entry.method !== DEFLATED) {
    throw zipFormat(file, `${entry.name} uses unsupported compression method ${entry.method}`);
  }
  // The local header's name and extra lengths may differ from the central directory's copy.
  const handle = await open(file, 'r');
  let dataStart: number;
  try {
    const header = Buffer.alloc(30);
    await handle.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw zipFormat(file, `bad local header for ${entry.name}`);
    dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await handle.close();
  }

  const hash = createHash('sha256');
  let written = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      written += chunk.length;
      callback(null, chunk);
    },
  });
  const sink = createWriteStream(destination, { flags: 'wx' });
  if (entry.compressedSize === 0) {
    // fs streams treat an `end` before `start` as an error, so an empty entry is written directly.
    await pipeline(Readable.from([]), tap, sink);
  } else {
    const source = createReadStream(file, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
    if (entry.method === DEFLATED) await pipeline(source, createInflateRaw(), tap, sink);
    else await pipeline(source, tap, sink);
  }
  if (written !== entry.uncompressedSize) {
    throw zipFormat(file, `${entry.name}: extracted ${written} bytes, expected ${entry.uncompressedSize}`);
  }
  return hash.digest('hex');
}
