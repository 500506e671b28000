import { report } from './progress.ts';
import type { PhaseOutcome, RebuildRun } from './rebuild-run.ts';

/**
 * Live encoders own the target now: the rebuild group goes, and the previous collection, which
 * serves stale alias caches for a while, is dropped after the grace period (a delayed job).
 */
export async function phaseFinishing(run: RebuildRun): Promise<PhaseOutcome<'finishing'>> {
  const { context, data, state, target } = run;
  await context.admin.deleteGroups([run.groupId]).catch(() => undefined);
  await report(run, 'done', 0, run.total);
  let dropPreviousAt: string | null = null;
  if (state.previous) {
    const graceMs = data.graceMs ?? context.config.reindex.graceMs;
    await context.scheduleDrop(state.previous, graceMs);
    dropPreviousAt = new Date(Date.now() + graceMs).toISOString();
  }
  const { count } = await context.qdrant.count(target, { exact: true });
  const forced = state.gate ? !state.gate.passed : false;
  if (forced) await context.log(`the gate refused ${target} and it was swapped in anyway (--force)`);
  return {
    next: 'done',
    result: {
      outcome: 'swapped',
      alias: data.alias,
      target,
      previous: state.previous,
      modelId: run.model.id,
      points: count,
      seconds: (Date.now() - run.startedMs) / 1000,
      dropPreviousAt,
      gate: state.gate ?? null,
      forced,
      shadow: run.shadow.stats,
      unwritten: (state.unwritten?.documents.length ?? 0) + (state.unwritten?.overflow ?? 0),
    },
  };
}
