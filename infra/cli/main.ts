// The CLI entry point: the only module that reads argv, handles signals and sets the exit code.
import { parseArgs } from 'node:util';
import { consoleOutput as out } from './output.ts';
import { UsageError } from './usage-error.ts';
import { isRoleName, ROLE_NAMES } from './role-names.ts';
import { filterKafkajsNegativeTimeoutWarnings } from '../node-warnings.ts';

// kafkajs' harmless negative timer delay warns on Node 24+ at every connection (infra/node-warnings.ts).
filterKafkajsNegativeTimeoutWarnings();

// Each command loads its own modules when it runs: `searchbus search` must not pay at start-up for
// onnxruntime, BullMQ, the gateway or the Qdrant client (README, "Cold start").
type AsyncFn = (...args: never[]) => Promise<unknown>;
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] & AsyncFn {
  return (async (...args: never[]) => ((await load())[name] as AsyncFn)(...args)) as M[K] & AsyncFn;
}
const infraCommands = () => import('./infra-commands.ts');
const searchCommands = () => import('./search-commands.ts');
const setupCommand = lazy(infraCommands, 'setupCommand');
const setupModelsCommand = lazy(infraCommands, 'setupModelsCommand');
const infraDownCommand = lazy(infraCommands, 'infraDownCommand');
const infraRunCommand = lazy(infraCommands, 'infraRunCommand');
const infraStatusCommand = lazy(infraCommands, 'infraStatusCommand');
const infraUpCommand = lazy(infraCommands, 'infraUpCommand');
const ingestCommand = lazy(() => import('./ingest-command.ts'), 'ingestCommand');
const ingestFolderCommand = lazy(() => import('./ingest-command.ts'), 'ingestFolderCommand');
const isFileFolder = lazy(() => import('./ingest-command.ts'), 'isFileFolder');
const migrateKeysCommand = lazy(() => import('./migrate-command.ts'), 'migrateKeysCommand');
const startSystem = lazy(() => import('./system.ts'), 'startSystem');
const topologyApplyCommand = lazy(() => import('./topology-commands.ts'), 'topologyApplyCommand');
const upCommand = lazy(() => import('./up-command.ts'), 'upCommand');
const reindexCommand = lazy(() => import('./reindex-commands.ts'), 'reindexCommand');
const statusCommand = lazy(() => import('./reindex-commands.ts'), 'statusCommand');
const gatewayKeyCommand = lazy(() => import('./gateway-key-commands.ts'), 'gatewayKeyCommand');
const evalSetCommand = lazy(() => import('./eval-set-commands.ts'), 'evalSetCommand');
const evalCommand = lazy(searchCommands, 'evalCommand');
const gatewayCommand = lazy(searchCommands, 'gatewayCommand');
const searchCommand = lazy(searchCommands, 'searchCommand');

const USAGE = `searchbus — neural search on an event stream

Usage:
  searchbus up [--no-sample]           start services, topology, every role and the sample corpus (Ctrl-C stops)
  searchbus run <role>                 run one role against running services (roles: ${ROLE_NAMES.join(', ')})
  searchbus ingest <file.jsonl|beir-dir|folder> [--tenant T] [--json]   (a folder: txt, md, jpg, png, webp, wav, mp3, ogg, flac)
                                       publish documents to the ingest topic
  searchbus search "<text>" | --image <file> | --audio <file> [--k 10] [--filter key=value …] [--tenant T] [--mode dense|sparse|hybrid] [--json]
                                       search through the bus (filters: key=v, key!=v, key>=n, key<n, or JSON)
  searchbus gateway [--port 8080]      HTTP front: GET|POST /search (q, k, filter, tenant, mode), /healthz, /readyz; /admin/eval-sets, /admin/reindex
  searchbus gateway key add --tenant T [--tenant T2 …] [--rate-per-second N] [--burst N] [--label L] [--admin] [--file F] [--json]
                                       create an API key (printed once); its salted hash goes to the keys file
  searchbus gateway key list [--file F] [--json]   list keys (ids, tenants, limits; never secrets)
  searchbus gateway key revoke <id> [--file F]     remove a key; running gateways reload the file
  searchbus eval <beir-dir> [--split test] [--mode dense|sparse|hybrid] [--concurrency 8] [--namespace N] [--model M]
                 [--compare <model|mode>] [--per-query F] [--json]
                                       nDCG@10, recall@100, MRR@10 and latency through the whole pipeline;
                                       --compare: a second run, per-query wins/losses/ties and a paired p-value
  searchbus reindex --model <id> [--watch] [--grace-ms N] [--allow-incomplete-history] [--json]
          [--gate <eval-set|beir-dir> [--tenant T] [--split S] [--max-ndcg-drop 0.005] [--force]]
          [--shadow-rate 0.05] [--shadow-ms N] [--shadow-samples N]
                                       rebuild the index behind the alias with a model, then swap it in; with --gate
                                       only if nDCG@10 on the judged queries drops by at most the margin
  searchbus eval-set add <name> <beir-dir> [--split test] [--tenant T] [--json]
                                       store a tenant's judged queries for gating rebuilds
  searchbus eval-set list [--tenant T] [--json]   the tenant's stored eval sets
  searchbus reindex --model <id> (--every <ms> | --cron "<pattern>")   schedule rebuilds; --unschedule stops them
  searchbus reindex --cancel <job-id>  cancel a rebuild (the live index is untouched)
  searchbus status [--json]            topics, consumer lag, collections, aliases, models and rebuild jobs
  searchbus migrate-keys [--dry-run] [--json]
                                       re-key documents published with bare-id keys to <tenant>/<id> (then reindex)
  searchbus topology apply [--dry-run] create or update topics, the collection, alias and payload indexes
  searchbus topology describe          print every name and setting as JSON
  searchbus setup                      install Kafka jars, redis-server, the Qdrant Edge engine, the text model and the image and audio models
  searchbus setup --models-only [--model <id> …]
                                       fetch and sha256-check only the text models (SEARCHBUS_MODEL by default); the image build runs this
  searchbus infra up [--profile up|test]  start Kafka, Redis and Qdrant (or use KAFKA_BROKERS/REDIS_URL/QDRANT_URL)
  searchbus infra down                 stop every service process searchbus started
  searchbus infra status [--json]      list the service processes searchbus started
  searchbus infra run -- <cmd…>        run a command against throwaway services (endpoints in its environment)
`;

// eslint-disable-next-line max-lines-per-function -- temporary: the command dispatch is being split out on another branch (issue 19 lint).
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'setup': {
      const { values } = parseArgs({ args: rest, options: { 'models-only': { type: 'boolean', default: false }, model: { type: 'string', multiple: true, default: [] } } });
      if (values['models-only']) await setupModelsCommand(out, values.model);
      else await setupCommand(out);
      return 0;
    }
    case 'infra':
      return infra(rest);
    case 'topology':
      return topology(rest);
    case 'reindex': {
      const { values } = parseArgs({
        args: rest,
        options: {
          model: { type: 'string' },
          watch: { type: 'boolean', default: false },
          'grace-ms': { type: 'string' },
          'allow-incomplete-history': { type: 'boolean', default: false },
          every: { type: 'string' },
          cron: { type: 'string' },
          unschedule: { type: 'boolean', default: false },
          cancel: { type: 'string' },
          json: { type: 'boolean', default: false },
          gate: { type: 'string' },
          tenant: { type: 'string' },
          split: { type: 'string' },
          'max-ndcg-drop': { type: 'string' },
          force: { type: 'boolean', default: false },
          'shadow-rate': { type: 'string' },
          'shadow-ms': { type: 'string' },
          'shadow-samples': { type: 'string' },
        },
      });
      const ms = (flag: string, raw: string | undefined): number | undefined => {
        if (raw === undefined) return undefined;
        if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} must be a whole number of milliseconds, got "${raw}"`);
        return Number(raw);
      };
      const graceMs = ms('--grace-ms', values['grace-ms']);
      const everyMs = ms('--every', values.every);
      const shadowMs = ms('--shadow-ms', values['shadow-ms']);
      const raw = values['shadow-samples'];
      if (raw !== undefined && !/^\d+$/.test(raw)) throw new UsageError(`--shadow-samples must be a whole number, got "${raw}"`);
      const shadowSamples = raw === undefined ? undefined : Number(raw);
      const fraction = (flag: string, raw: string | undefined): number | undefined => {
        if (raw === undefined) return undefined;
        const value = Number(raw);
        if (raw.trim() === '' || !(value >= 0 && value <= 1)) throw new UsageError(`${flag} must be a number from 0 to 1, got "${raw}"`);
        return value;
      };
      const maxNdcgDrop = fraction('--max-ndcg-drop', values['max-ndcg-drop']);
      const shadowRate = fraction('--shadow-rate', values['shadow-rate']);
      if (values.gate === undefined && (maxNdcgDrop !== undefined || values.force)) throw new UsageError('--max-ndcg-drop and --force go with --gate');
      return reindexCommand(out, {
        watch: values.watch,
        allowIncompleteHistory: values['allow-incomplete-history'],
        unschedule: values.unschedule,
        json: values.json,
        ...(values.model !== undefined && { model: values.model }),
        ...(graceMs !== undefined && { graceMs }),
        ...(everyMs !== undefined && { everyMs }),
        ...(values.cron !== undefined && { cron: values.cron }),
        ...(values.cancel !== undefined && { cancel: values.cancel }),
        ...(values.gate !== undefined && { gate: values.gate, force: values.force }),
        ...(values.tenant !== undefined && { tenant: values.tenant }),
        ...(values.split !== undefined && { split: values.split }),
        ...(maxNdcgDrop !== undefined && { maxNdcgDrop }),
        ...(shadowRate !== undefined && { shadowRate }),
        ...(shadowMs !== undefined && { shadowMs }),
        ...(shadowSamples !== undefined && { shadowSamples }),
      });
    }
    case 'eval-set': {
      const [sub, ...tail] = rest;
      if (sub !== 'add' && sub !== 'list') throw new UsageError('eval-set needs "add <name> <beir-dir>" or "list"');
      const { values, positionals } = parseArgs({
        args: tail,
        allowPositionals: true,
        options: { split: { type: 'string', default: 'test' }, tenant: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      if (sub === 'add' && positionals.length !== 2) throw new UsageError('eval-set add needs <name> <beir-dir>');
      return evalSetCommand(out, sub, {
        split: values.split,
        json: values.json,
        ...(positionals[0] !== undefined && { name: positionals[0] }),
        ...(positionals[1] !== undefined && { dir: positionals[1] }),
        ...(values.tenant !== undefined && { tenant: values.tenant }),
      });
    }
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      return statusCommand(out, { json: values.json });
    }
    case 'migrate-keys': {
      const { values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
      await migrateKeysCommand(out, { dryRun: values['dry-run'], json: values.json });
      return 0;
    }
    case 'ingest': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { tenant: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      const path = positionals[0];
      if (!path) throw new UsageError('ingest needs a JSONL file, a BEIR folder or a folder of files');
      const ingestOptions = { ...(values.tenant !== undefined && { tenant: values.tenant }), json: values.json };
      if (await isFileFolder(path)) {
        await ingestFolderCommand(out, path, ingestOptions);
        return 0;
      }
      const summary = await ingestCommand(out, path, ingestOptions);
      return summary.rejected.length > 0 ? 3 : 0;
    }
    case 'up': {
      const { values } = parseArgs({ args: rest, options: { 'no-sample': { type: 'boolean', default: false } } });
      const system = await upCommand(out, { sample: !values['no-sample'] });
      await untilSignal();
      out.info('Stopping…');
      await system.stop();
      return 0;
    }
    case 'run': {
      const role = rest[0];
      if (!role || !isRoleName(role)) throw new UsageError(`run needs a role: ${ROLE_NAMES.join(', ')}`);
      const system = await startSystem(out, { roles: [role], profile: 'up', startServices: false, applyTopology: false });
      out.info(`${role} running; health on http://127.0.0.1:${system.healthPort}/readyz`);
      await untilSignal();
      await system.stop();
      return 0;
    }
    case 'gateway':
      if (rest[0] === 'key') return gatewayKeyCommand(out, rest.slice(1));
      return queryPath(command, rest);
    case 'search':
    case 'eval':
      return queryPath(command, rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.result(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function infra(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'run') {
    const separator = rest.indexOf('--');
    return infraRunCommand(out, separator >= 0 ? rest.slice(separator + 1) : rest);
  }
  const { values } = parseArgs({
    args: rest,
    options: { profile: { type: 'string', default: 'up' }, json: { type: 'boolean', default: false } },
  });
  switch (sub) {
    case 'up': {
      const profile = values.profile;
      if (profile !== 'up' && profile !== 'test') throw new UsageError('--profile must be "up" or "test"');
      await infraUpCommand(out, profile);
      return 0;
    }
    case 'down':
      await infraDownCommand(out);
      return 0;
    case 'status':
      await infraStatusCommand(out, values.json);
      return 0;
    default:
      throw new UsageError(`unknown infra command "${sub ?? ''}"`);
  }
}

async function topology(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean', default: false } } });
  switch (sub) {
    case 'apply':
      await topologyApplyCommand(out, { dryRun: values['dry-run'] });
      return 0;
    case 'describe':
      (await import('./topology-commands.ts')).topologyDescribeCommand(out);
      return 0;
    default:
      throw new UsageError(`unknown topology command "${sub ?? ''}"`);
  }
}

async function queryPath(command: 'search' | 'gateway' | 'eval', argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      k: { type: 'string' },
      filter: { type: 'string', multiple: true, default: [] },
      tenant: { type: 'string' },
      json: { type: 'boolean', default: false },
      port: { type: 'string' },
      split: { type: 'string', default: 'test' },
      concurrency: { type: 'string', default: '8' },
      namespace: { type: 'string' },
      model: { type: 'string' },
      compare: { type: 'string' },
      mode: { type: 'string' },
      'per-query': { type: 'string' },
      image: { type: 'string' },
      audio: { type: 'string' },
    },
  });
  const mode = command === 'gateway' ? undefined : (await searchCommands()).parseMode(values.mode);
  if (command === 'search') {
    const text = positionals.join(' ');
    const given = [text.trim() !== '', values.image !== undefined, values.audio !== undefined].filter(Boolean).length;
    if (given !== 1) throw new UsageError('search needs exactly one of: the text to search for, --image <file>, --audio <file>');
    await searchCommand(out, {
      text,
      ...(values.image !== undefined && { image: values.image }),
      ...(values.audio !== undefined && { audio: values.audio }),
      topK: (await searchCommands()).parseTopK(values.k, 10),
      filters: values.filter,
      ...(values.tenant !== undefined && { tenant: values.tenant }),
      ...(mode !== undefined && { mode }),
      json: values.json,
    });
    return 0;
  }
  if (command === 'gateway') {
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError('--port must be a port number');
    const gateway = await gatewayCommand(out, port === undefined ? {} : { port });
    await untilSignal();
    await gateway.stop();
    return 0;
  }
  const dir = positionals[0];
  if (!dir) throw new UsageError('eval needs a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError('--concurrency must be a whole number from 1 to 256');
  const aborted = new AbortController();
  void untilSignal().then(() => aborted.abort(new Error('interrupted')));
  const { report, compared } = await evalCommand(
    out,
    dir,
    {
      split: values.split,
      json: values.json,
      concurrency,
      ...(values.namespace !== undefined && { namespace: values.namespace }),
      ...(values.model !== undefined && { model: values.model }),
      ...(values.compare !== undefined && { compare: values.compare }),
      ...(mode !== undefined && { mode }),
      ...(values['per-query'] !== undefined && { perQueryFile: values['per-query'] }),
    },
    aborted.signal,
  );
  // Scores with failed queries in them understate quality; say so in the exit code too.
  return report.details.failedQueries + (compared?.report.details.failedQueries ?? 0) > 0 ? 4 : 0;
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = (): never => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      out.info(`${signal}: shutting down (send again to exit at once)`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The message, then what caused it: the root cause is often the one that says what to fix. */
function withCauses(error: Error): string {
  const lines = [error.message];
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && cause !== error && depth < 8; depth += 1) {
    if (!error.message.includes(cause.message)) lines.push(`  caused by ${cause.name}: ${cause.message}`);
    cause = cause.cause;
  }
  return lines.join('\n');
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    out.error(error.message);
    out.info(USAGE);
    process.exitCode = 2;
  } else {
    out.error(error instanceof Error ? withCauses(error) : String(error));
    // Every stack of the chain, and of each failed cleanup step.
    if (process.env.SEARCHBUS_DEBUG && error instanceof Error) {
      const { serialiseError } = await import('../../consumers/runtime/index.ts');
      out.info(JSON.stringify(serialiseError(error), null, 2));
    }
    process.exitCode = 1;
  }
}
