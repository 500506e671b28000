import { position, report } from './progress.ts';
import { liveCollection, throwIfCancelled, wait, type PhaseOutcome, type RebuildRun } from './rebuild-run.ts';

/**
 * Caught up and tailing: mirrors a share of live searches to the target, before any gate or
 * fence, and holds until enough were compared (or the hold ends). Passes straight through when
 * the job asked for no shadow comparison (or the worker has no board for it).
 */
export async function phaseShadowing(run: RebuildRun): Promise<PhaseOutcome<'shadowing'>> {
  const live = liveCollection(run);
  await startShadow(run, live);
  await holdForShadow(run);
  return { next: 'gating' };
}

/** Announced with a lapsing TTL (renewed here), so a dead worker stops it; withdrawn when the attempt ends. */
async function startShadow(run: RebuildRun, live: string): Promise<void> {
  const { context, data, target } = run;
  const rate = data.shadow?.rate ?? 0;
  if (!context.shadow || rate <= 0) return;
  const board = context.shadow;
  const intervalMs = context.config.reindex.progressIntervalMs;
  const ttlMs = Math.max(10_000, 3 * intervalMs);
  const announcement = {
    collection: target,
    modelId: run.model.id,
    jobId: context.jobId,
    sampleRate: rate,
    since: new Date().toISOString(),
  };
  await board.announce(announcement, ttlMs);
  run.shadow.active = true;
  run.shadow.renew = setInterval(() => {
    board
      .announce(announcement, ttlMs)
      .catch((error: unknown) => context.logger.warn('could not renew the shadow announcement', { error }));
  }, intervalMs);
  await context.log(`mirroring ${Math.round(rate * 1000) / 10}% of live searches to ${target} (live: ${live})`);
}

async function holdForShadow(run: RebuildRun): Promise<void> {
  const { shadow } = run.data;
  const holdMs = shadow?.holdMs ?? 0;
  if (!run.shadow.active || holdMs <= 0) return;
  const until = Date.now() + holdMs;
  for (;;) {
    const p = await position(run);
    await report(run, 'shadowing', p.lag, p.processed);
    const samples = run.shadow.stats?.samples ?? 0;
    if (Date.now() >= until || (shadow?.minSamples && samples >= shadow.minSamples)) break;
    await throwIfCancelled(run);
    await wait(run, run.context.config.reindex.progressIntervalMs);
  }
}
