import {
  ContractError,
  loadConfig,
  createTopology,
  decodePosition,
  encodePosition,
  mergePositions,
  type ReadPosition,
} from '../../../topology/index.ts';
import { createKafka, getServices, isWithin } from '../../index.ts';
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileDocument, IngestProducer, listFiles, openDocumentSource, type DocumentInput } from '../../../producers/ingest/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { ProgressBar } from '../progress-bar.ts';
import { startTelemetry } from '../telemetry.ts';

export interface IngestSummary {
  published: number;
  rejected: Array<{ line: number; code: string; reason: string }>;
  seconds: number;
  /** A folder of files: published and skipped files by type (text, image, audio, pdf, docx, html, or the skipped extension). */
  byType?: Record<string, { published: number; skipped: number }>;
  skipped?: Array<{ path: string; reason: string }>;
  /**
   * The position token covering every partition this command wrote to: `searchbus search --after`
   * with it is answered once the index holds all of it. Absent when nothing was published.
   */
  position?: string;
}

/** Folds each send's position into one covering them all. */
function positionTracker(): { add(token: string): void; token(): string | undefined } {
  let merged: ReadPosition | undefined;
  return {
    add: (token) => {
      const next = decodePosition(token);
      merged = merged ? mergePositions(merged, next) : next;
    },
    token: () => (merged && merged.offsets.size > 0 ? encodePosition(merged) : undefined),
  };
}

export interface IngestOptions {
  tenant?: string;
  json?: boolean;
}

/** A folder of files (not a BEIR folder, which has a corpus.jsonl): every txt, md, image, audio, PDF, DOCX and HTML file. */
export async function isFileFolder(path: string): Promise<boolean> {
  return (await stat(path)).isDirectory() && !existsSync(join(path, 'corpus.jsonl'));
}

/** Publishes each file of a folder with its type; unknown types are counted and skipped with a reason. */
export async function ingestFolderCommand(out: Output, dir: string, options: IngestOptions): Promise<IngestSummary> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const files = await listFiles(dir);
  const real = await realpath(dir);
  if (files.some((f) => f.bytes > config.media.inlineMaxBytes) && !config.media.fileRoots.some((root) => isWithin(root, real))) {
    // Said before publishing: the encoders would dead-letter these files as media-forbidden.
    out.info(
      `warning: files over ${config.media.inlineMaxBytes} bytes are published by file:// uri, and encoders read those only under SEARCHBUS_MEDIA_FILE_ROOTS (here: ${config.media.fileRoots.join(', ') || 'none'}); ${real} is outside them`,
    );
  }
  const services = await getServices({ profile: 'up', need: ['kafka'], start: false, log: (l) => out.info(l) });
  const producer = new IngestProducer({
    kafka: createKafka(services.kafka, 'searchbus-cli'),
    topic: topology.topics.ingest,
    startTimeoutMs: config.startTimeoutMs,
  });
  const bar = new ProgressBar(
    'ingest',
    files.reduce((sum, f) => sum + f.bytes, 0),
    'B',
  );
  const summary: IngestSummary = { published: 0, rejected: [], seconds: 0, byType: {}, skipped: [] };
  const count = (type: string, field: 'published' | 'skipped'): void => {
    const entry = (summary.byType![type] ??= { published: 0, skipped: 0 });
    entry[field] += 1;
  };
  const started = performance.now();
  const position = positionTracker();
  let bytesRead = 0;
  try {
    // Media documents are up to the inline limit each: a few per send keeps a request small.
    let pending: Array<{ document: DocumentInput; kind: string }> = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      position.add(await producer.upsert(pending.map((p) => p.document)));
      for (const p of pending) count(p.kind, 'published');
      summary.published += pending.length;
      pending = [];
    };
    for (const file of files) {
      const record = await fileDocument(dir, file, {
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
        mediaInlineMaxBytes: config.media.inlineMaxBytes,
      });
      if (record.kind === 'skipped') {
        count(record.type, 'skipped');
        summary.skipped!.push({ path: record.path, reason: record.reason });
      } else {
        pending.push({ document: record.document, kind: record.kind });
        if (pending.length >= (record.kind === 'text' ? 200 : 8)) await flush();
      }
      bytesRead += file.bytes;
      bar.update(bytesRead, `${summary.published} files`);
    }
    await flush();
  } finally {
    await producer.close();
    await services.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  const folderPosition = position.token();
  if (folderPosition !== undefined) summary.position = folderPosition;
  const types = Object.entries(summary.byType!)
    .map(([type, c]) => `${type} ${c.published}${c.skipped > 0 ? ` (${c.skipped} skipped)` : ''}`)
    .join(', ');
  bar.done(`published ${summary.published} files to ${topology.topics.ingest} in ${summary.seconds.toFixed(1)} s: ${types || 'none'}`);
  if (options.json) out.result(JSON.stringify(summary));
  else for (const s of summary.skipped!.slice(0, 20)) out.result(`skipped ${s.path}: ${s.reason}`);
  return summary;
}

/** Publishes a JSONL file or BEIR folder to the ingest topic, validating each line locally first. */
export async function ingestCommand(out: Output, path: string, options: IngestOptions): Promise<IngestSummary> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const source = openDocumentSource(path, options.tenant !== undefined ? { tenant: options.tenant } : {});
  const services = await getServices({ profile: 'up', need: ['kafka'], start: false, log: (l) => out.info(l) });
  const telemetry = await startTelemetry(config, 'searchbus-cli');
  const producer = new IngestProducer({
    kafka: createKafka(services.kafka, 'searchbus-cli'),
    topic: topology.topics.ingest,
    startTimeoutMs: config.startTimeoutMs,
  });
  const bar = new ProgressBar('ingest', source.bytes, 'B');
  const summary: IngestSummary = { published: 0, rejected: [], seconds: 0 };
  const started = performance.now();
  const position = positionTracker();
  try {
    let pending: DocumentInput[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      position.add(await producer.upsert(pending));
      summary.published += pending.length;
      pending = [];
    };
    for await (const record of source.records()) {
      if ('error' in record) {
        const error: ContractError = record.error;
        summary.rejected.push({ line: record.line, code: error.code, reason: error.message });
      } else {
        pending.push(record.document);
        if (pending.length >= 500) await flush();
      }
      bar.update(record.bytesRead, `${summary.published} docs`);
    }
    await flush();
  } finally {
    await producer.close();
    await services.close();
    await telemetry?.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  const written = position.token();
  if (written !== undefined) summary.position = written;
  const rate = summary.seconds > 0 ? summary.published / summary.seconds : 0;
  bar.done(
    `published ${summary.published} documents to ${topology.topics.ingest} in ${summary.seconds.toFixed(1)} s (${rate.toFixed(0)} docs/s); rejected ${summary.rejected.length}`,
  );
  if (options.json) {
    out.result(JSON.stringify(summary));
  } else {
    for (const r of summary.rejected.slice(0, 20)) out.result(`rejected line ${r.line} [${r.code}]: ${r.reason}`);
    if (summary.rejected.length > 20) out.result(`… and ${summary.rejected.length - 20} more rejected lines`);
  }
  return summary;
}

export const command = defineCommand({
  name: 'ingest',
  parse(argv): { path: string; options: IngestOptions } {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { tenant: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    const path = positionals[0];
    if (!path) throw new ContractError('usage', 'ingest needs a JSONL file, a BEIR folder or a folder of files');
    return { path, options: { ...(values.tenant !== undefined && { tenant: values.tenant }), json: values.json } };
  },
  async run({ path, options }, { out }) {
    if (await isFileFolder(path)) {
      await ingestFolderCommand(out, path, options);
      return 0;
    }
    const summary = await ingestCommand(out, path, options);
    return summary.rejected.length > 0 ? 3 : 0;
  },
});
