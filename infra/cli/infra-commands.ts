import { spawn } from 'node:child_process';
import {
  endpointEnv,
  ensureKafkaClasspath,
  ensureQdrantEdgeVenv,
  ensureRedisServer,
  getServices,
  isAlive,
  listEntries,
  reapOrphans,
  SECRET_SETTINGS,
  stopProcess,
  type Profile,
  type Services,
} from '../index.ts';
import { ensureAllEncoderFiles, ensureAudioModel, ensureImageModel } from '../models/index.ts';
import { getModelSpec, loadConfig } from '../../topology/index.ts';
import type { Output } from './output.ts';
import { UsageError } from './usage-error.ts';

export async function setupCommand(out: Output): Promise<void> {
  const log = (line: string): void => out.info(line);
  const { model } = loadConfig();
  await Promise.all([
    ensureKafkaClasspath(log),
    ensureQdrantEdgeVenv(log),
    ensureRedisServer(log),
    ensureAllEncoderFiles(model, { log }),
    ensureImageModel({ log }),
    ensureAudioModel({ log }),
  ]);
  out.info(`Kafka, Redis, the Qdrant Edge engine, the ${model.id} model (with its optimised and per-channel int8 files) and the image and audio models are installed.`);
}

/**
 * Only the models (default: SEARCHBUS_MODEL), each verified against its sha256 pin, with their
 * derived files (optimised graph, per-channel int8), and the image and audio models: what an image
 * bakes in, so that a read-only image never needs Python to derive a file at run time.
 */
export async function setupModelsCommand(out: Output, modelIds: readonly string[]): Promise<void> {
  const log = (line: string): void => out.info(line);
  const specs = modelIds.length > 0 ? modelIds.map((id) => getModelSpec(id)) : [loadConfig().model];
  for (const spec of specs) {
    const files = await ensureAllEncoderFiles(spec, { log });
    for (const f of files) out.result(`${f.modelId} (${f.variant}): ${f.onnxPath}`);
  }
  const [image, audio] = await Promise.all([ensureImageModel({ log }), ensureAudioModel({ log })]);
  out.result(`${image.modelId} (image): ${image.onnxPath}`);
  out.result(`${audio.modelId} (audio): ${audio.melspectrogramPath}, ${audio.embeddingPath}`);
}

/** The variables that reach these services, secrets included: for child processes, never for printing. */
export function servicesEnv(services: Services): Record<string, string> {
  return endpointEnv({ kafka: services.kafka, redis: services.redis, qdrant: services.qdrant });
}

export async function infraUpCommand(out: Output, profile: Profile): Promise<void> {
  const started = Date.now();
  const services = await getServices({ profile, log: (l) => out.info(l) });
  const env = servicesEnv(services);
  out.info(`Services are up (${Date.now() - started} ms):`);
  for (const [key, value] of Object.entries(env)) out.result(`${key}=${SECRET_SETTINGS.has(key) ? '***' : value}`);
}

export async function infraDownCommand(out: Output): Promise<void> {
  const entries = await listEntries();
  await Promise.all(entries.map((e) => stopProcess(e, e.profile === 'up' ? 30_000 : 5_000)));
  out.info(entries.length === 0 ? 'Nothing was running.' : `Stopped ${entries.map((e) => `${e.service} (pid ${e.pid})`).join(', ')}.`);
}

export async function infraStatusCommand(out: Output, json: boolean): Promise<void> {
  await reapOrphans((l) => out.info(l));
  const rows = (await listEntries()).map((e) => ({
    service: e.service,
    profile: e.profile,
    pid: e.pid,
    alive: isAlive(e.pid, e.startTicks),
    endpoint: e.endpoint,
    owner: e.ownerPid ?? 'detached',
    since: e.startedAt,
    log: e.logFile,
  }));
  if (json) {
    out.result(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    out.result('No searchbus service processes are running.');
    return;
  }
  for (const r of rows) {
    out.result(`${r.service.padEnd(7)} ${r.profile.padEnd(5)} pid ${String(r.pid).padEnd(8)} ${r.alive ? 'running' : 'dead   '} ${r.endpoint}  owner ${r.owner}  log ${r.log}`);
  }
}

/** Runs a command against throwaway services given to it in KAFKA_BROKERS, REDIS_URL and QDRANT_URL. */
export async function infraRunCommand(out: Output, argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command) throw new UsageError('infra run needs a command after --');
  const services = await getServices({ profile: 'test', log: (l) => out.info(l) });
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...servicesEnv(services) } });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    await services.close();
  }
}
