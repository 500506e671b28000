import { parseArgs } from 'node:util';
import { WatchRegistry } from '../../../consumers/watch/index.ts';
import { parseFilterArgs } from '../../../producers/search-client/index.ts';
import { WatchClient } from '../../../producers/watch-client/index.ts';
import { createKafka, getServices } from '../../index.ts';
import { createQdrant } from '../../../topology/connections/qdrant-client.ts';
import { ContractError, createTopology, loadConfig, type MatchEventV1, type Watch } from '../../../topology/index.ts';
import { defineCommand, type CommandContext } from '../command.ts';
import { readExampleFile } from '../example-file.ts';
import type { Output } from '../output.ts';
import { createRoleContext, queryEmbedder } from '../roles.ts';

type Sub = 'add' | 'list' | 'remove' | 'tail';

export interface WatchCommandOptions {
  sub: Sub;
  /** add: the words; remove and tail: the watch id. */
  text: string;
  image?: string;
  audio?: string;
  filters: string[];
  tenant?: string;
  threshold?: number;
  json: boolean;
}

/** `watch add | list | remove | tail`: standing queries and their matches; needs running services (`searchbus up`). */
export async function watchCommand(out: Output, options: WatchCommandOptions, untilSignal: () => Promise<void>): Promise<number> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services = await getServices({ profile: 'up', need: ['kafka', 'redis', 'qdrant'], start: false, log: (l) => out.info(l) });
  // Models load on first use only: `watch add` embeds, the other subcommands do not.
  const models = createRoleContext(services, config, topology, (l) => out.info(l));
  const registry = new WatchRegistry({
    qdrant: createQdrant(services.qdrant),
    topology,
    config,
    embedQueries: queryEmbedder(models),
    media: models.media,
  });
  const client = new WatchClient({ kafka: createKafka(services.kafka, 'searchbus-cli-watch'), topology, registry });
  try {
    switch (options.sub) {
      case 'add': {
        const watch = await client.add(await specOf(options, config.media.inlineMaxBytes));
        out.result(options.json ? JSON.stringify(watch) : watch.id);
        return 0;
      }
      case 'list': {
        const watches = await client.list(options.tenant);
        if (options.json) for (const w of watches) out.result(JSON.stringify(w));
        else if (watches.length === 0) out.info('no watches');
        else for (const w of watches) out.result(describe(w));
        return 0;
      }
      case 'remove':
        await client.remove(options.text, options.tenant);
        out.info(`removed watch ${options.text}`);
        return 0;
      case 'tail': {
        const tail = client.tail(
          { ...(options.text ? { watchId: options.text } : {}), ...(options.tenant !== undefined ? { tenant: options.tenant } : {}) },
          (m) => out.result(options.json ? JSON.stringify(m) : line(m)),
        );
        try {
          await tail.ready;
          out.info(`following ${topology.topics.matches}${options.text ? ` for watch ${options.text}` : ''}; Ctrl-C stops`);
          await untilSignal();
        } finally {
          await tail.close();
        }
        return 0;
      }
    }
  } finally {
    await models.close();
    await services.close();
  }
}

async function specOf(options: WatchCommandOptions, inlineMaxBytes: number): Promise<Record<string, unknown>> {
  const filter = parseFilterArgs(options.filters);
  const kind = options.image !== undefined ? 'image' : options.audio !== undefined ? 'audio' : null;
  const query =
    kind === null ? { text: options.text } : { [kind]: await readExampleFile(kind, (options.image ?? options.audio)!, inlineMaxBytes) };
  return {
    query,
    ...(filter ? { filter } : {}),
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  };
}

function describe(w: Watch): string {
  const query =
    'text' in w.query
      ? JSON.stringify(w.query.text)
      : 'image' in w.query
        ? `[image ${w.query.image.type}]`
        : `[audio ${w.query.audio.type}]`;
  return `${w.id}  ${w.tenant}  ≥ ${w.threshold}  ${query}${w.filter ? `  filter ${JSON.stringify(w.filter)}` : ''}`;
}

function line(m: MatchEventV1): string {
  return `${m.matchedAt}  ${m.watchId}  ${m.score.toFixed(4)}  ${m.tenant}/${m.id}`;
}

export const command = defineCommand({
  name: 'watch',
  parse(argv): WatchCommandOptions {
    const [sub, ...tail] = argv;
    if (sub !== 'add' && sub !== 'list' && sub !== 'remove' && sub !== 'tail')
      throw new ContractError('usage', 'watch needs add "<text>" | --image <file> | --audio <file>, list, remove <id> or tail [<id>]');
    const { values, positionals } = parseArgs({
      args: tail,
      allowPositionals: true,
      options: {
        image: { type: 'string' },
        audio: { type: 'string' },
        filter: { type: 'string', multiple: true, default: [] },
        tenant: { type: 'string' },
        threshold: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const text = positionals.join(' ');
    if (sub === 'add') {
      const given = [text.trim() !== '', values.image !== undefined, values.audio !== undefined].filter(Boolean).length;
      if (given !== 1)
        throw new ContractError('usage', 'watch add needs exactly one of: the text to watch for, --image <file>, --audio <file>');
    }
    if (sub === 'remove' && positionals.length !== 1) throw new ContractError('usage', 'watch remove needs the watch id');
    let threshold: number | undefined;
    if (values.threshold !== undefined) {
      threshold = Number(values.threshold);
      if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1)
        throw new ContractError('usage', `--threshold must be a number from -1 to 1, got "${values.threshold}"`);
    }
    return {
      sub,
      text,
      filters: values.filter,
      json: values.json,
      ...(values.image !== undefined && { image: values.image }),
      ...(values.audio !== undefined && { audio: values.audio }),
      ...(values.tenant !== undefined && { tenant: values.tenant }),
      ...(threshold !== undefined && { threshold }),
    };
  },
  run: (options, context: CommandContext) => watchCommand(context.out, options, context.untilSignal),
});
