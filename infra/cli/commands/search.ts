import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { getServices } from '../../get-services.ts';
import {
  CODE_EXTENSIONS,
  codeLanguageOf,
  ContractError,
  createKafka,
  createRedis,
  createTopology,
  hasErrorCode,
  loadConfig,
  type CodeQuery,
  type MediaQuery,
  type SearchHit,
  type SearchMode,
} from '../../../topology/index.ts';
import { parseFilterArgs, SearchClient, type SearchResult } from '../../../producers/search-client/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { parseMode, parseQueryArgs, parseTopK } from '../query-args.ts';
import { startTelemetry } from '../telemetry.ts';
import { readExampleFile } from '../example-file.ts';

export interface SearchCommandOptions {
  text: string;
  /** Query by example: a file whose content is sent inline (up to SEARCHBUS_MEDIA_INLINE_MAX_BYTES). */
  image?: string;
  audio?: string;
  /** Query by code: a source file, parsed as its extension says. */
  code?: string;
  topK: number;
  filters: string[];
  tenant?: string;
  mode?: SearchMode;
  json: boolean;
  timeoutMs?: number;
  /** A position token (`ingest --json` prints one): answered once the index holds everything up to it. */
  after?: string;
}

/** One search through the bus; needs running services and a query consumer (`searchbus up`). */
export async function searchCommand(out: Output, options: SearchCommandOptions): Promise<SearchResult> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const filter = parseFilterArgs(options.filters);
  const services = await getServices({ profile: 'up', need: ['kafka', 'redis'], start: false, log: (l) => out.info(l) });
  const telemetry = await startTelemetry(config, 'searchbus-cli');
  const client = new SearchClient({
    kafka: createKafka(services.kafka, 'searchbus-cli-search'),
    redis: createRedis(services.redis, 'searchbus-cli-search'),
    topology,
    defaultTimeoutMs: options.timeoutMs ?? config.query.defaultTimeoutMs,
    hedgeAfterMs: config.query.hedgeAfterMs,
    startTimeoutMs: config.startTimeoutMs,
  });
  try {
    const result = await client.search({
      ...(await queryOf(options, config.media.inlineMaxBytes)),
      topK: options.topK,
      ...(filter ? { filter } : {}),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      ...(options.after !== undefined ? { after: options.after } : {}),
    });
    if (options.json) {
      out.result(JSON.stringify(result));
    } else {
      result.hits.forEach((hit, i) => {
        const title = hit.title ? `  ${hit.title}` : '';
        const where = [
          hit.page !== undefined ? `page ${hit.page}` : '',
          hit.code ? codeWhere(hit.code) : hit.chunk > 0 ? `chunk ${hit.chunk}` : '',
          matchedBy(hit),
        ]
          .filter(Boolean)
          .join(', ');
        out.result(`${String(i + 1).padStart(3)}. ${hit.score.toFixed(4)}  ${hit.docId}${where ? ` (${where})` : ''}${title}`);
        if (hit.snippet) out.result(`     ${hit.snippet}`);
        // A video's transcript hit is at the time of what was said, which matchedBy prints, not of the frame on its point.
        const at = hit.media?.at !== undefined && hit.textSource !== 'transcript' ? ` at ${hit.media.at} s` : '';
        if (hit.media) out.result(`     [${hit.media.modality} ${hit.media.type}${hit.media.uri ? ` ${hit.media.uri}` : ''}${at}]`);
      });
      out.info(
        `${result.hits.length} hits in ${result.latencyMs.toFixed(1)} ms (model ${result.model}${result.mode ? `, ${result.mode}` : ''}, ${result.tookMs} ms in the query consumer)`,
      );
    }
    return result;
  } catch (error) {
    if (hasErrorCode(error, 'search-timeout')) {
      throw new Error(`${error.message}. Is a query consumer running? Start one with \`searchbus up\` or \`searchbus run query\`.`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    await client.close();
    await services.close();
    await telemetry?.close();
  }
}

/** The words, or the file of a query by example read inline (its type from its extension). */
async function queryOf(
  options: SearchCommandOptions,
  inlineMaxBytes: number,
): Promise<{ text: string } | { code: CodeQuery } | { image: MediaQuery } | { audio: MediaQuery }> {
  if (options.code !== undefined) return { code: await codeQuery(options.code) };
  const kind = options.image !== undefined ? 'image' : options.audio !== undefined ? 'audio' : null;
  if (kind === null) return { text: options.text };
  const media = await readExampleFile(kind, (kind === 'image' ? options.image : options.audio)!, inlineMaxBytes);
  return kind === 'image' ? { image: media } : { audio: media };
}

/** A source file as a code query: its language from its extension, its text as it is. */
async function codeQuery(file: string): Promise<CodeQuery> {
  const type = CODE_EXTENSIONS[extname(file).toLowerCase()];
  const language = type ? codeLanguageOf(type) : undefined;
  if (!language)
    throw new ContractError('usage', `--code ${file}: not a supported source file (${Object.keys(CODE_EXTENSIONS).join(', ')})`);
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new ContractError('usage', `--code ${file}: ${(error as Error).message}`);
  });
  return { text, language };
}

export const command = defineCommand({
  name: 'search',
  parse(argv): SearchCommandOptions {
    const { values, positionals } = parseQueryArgs(argv);
    const mode = parseMode(values.mode);
    const text = positionals.join(' ');
    const given = [text.trim() !== '', values.image !== undefined, values.audio !== undefined, values.code !== undefined].filter(
      Boolean,
    ).length;
    if (given !== 1)
      throw new ContractError(
        'usage',
        'search needs exactly one of: the text to search for, --image <file>, --audio <file>, --code <file>',
      );
    return {
      text,
      ...(values.image !== undefined && { image: values.image }),
      ...(values.audio !== undefined && { audio: values.audio }),
      ...(values.code !== undefined && { code: values.code }),
      topK: parseTopK(values.k, 10),
      filters: values.filter,
      ...(values.tenant !== undefined && { tenant: values.tenant }),
      ...(mode !== undefined && { mode }),
      ...(values.after !== undefined && { after: values.after }),
      json: values.json,
    };
  },
  async run(options, { out }) {
    await searchCommand(out, options);
    return 0;
  },
});

/** `parseHeader() lines 12–40` (a symbol-less chunk: only its lines). */
function codeWhere(code: NonNullable<SearchHit['code']>): string {
  const lines = code.startLine === code.endLine ? `line ${code.startLine}` : `lines ${code.startLine}–${code.endLine}`;
  return code.symbol !== undefined ? `${code.symbol}() ${lines}` : lines;
}

/** Why a hit matched when its text was read from its medium, as the list says it. */
function matchedBy(hit: SearchHit): string {
  if (hit.textSource === 'labels') return `label: ${hit.media?.labels?.map((l) => l.name).join(', ') ?? '?'}`;
  if (hit.textSource === 'ocr') return 'text in image';
  if (hit.textSource === 'transcript' && hit.startMs !== undefined) return `transcript at ${clock(hit.startMs)}`;
  return '';
}

/** 83,400 ms -> "1:23"; an hour or more -> "1:02:03". */
function clock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const mmss = `${h > 0 ? String(m).padStart(2, '0') : m}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}
