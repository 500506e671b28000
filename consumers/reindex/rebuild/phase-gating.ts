import { parseCollectionName, RejectedError } from '../../../topology/index.ts';
import { describeCollection } from '../../runtime/index.ts';
import { formatGate, runGate, type GateReport } from '../quality-gate.ts';
import type { ReindexResult } from '../reindex-types.ts';
import { refuseLoss } from './loss-check.ts';
import { position, report } from './progress.ts';
import { liveCollection, save, type PhaseOutcome, type RebuildRun } from './rebuild-run.ts';

/**
 * The last word before any fence closes: judged queries on the live collection and the target
 * (when the job asked for a gate), and the replay's dead letters checked again.
 */
export async function phaseGating(run: RebuildRun): Promise<PhaseOutcome<'gating'>> {
  const live = liveCollection(run);
  const verdict = await gate(run, live);
  if (verdict && !verdict.passed && !run.data.gate?.force) return { next: 'refused', result: await refuse(run, verdict, live) };
  // Again if shadowing or the gate took time: the tail may have dead-lettered more meanwhile.
  if (run.shadow.active || verdict) await refuseLoss(run, live);
  return { next: 'handover' };
}

/** Persisted once reached: a resumed job does not run the gate again. */
async function gate(run: RebuildRun, live: string): Promise<GateReport | null> {
  const { context, data, target } = run;
  if (!data.gate) return null;
  if (run.state.gate) return run.state.gate;
  if (!context.gate) throw new RejectedError('rebuild-refused', 'this reindex worker cannot run a quality gate (no query encoder)');
  const request = data.gate;
  const set = request.inline ?? (await context.gate.evalSets.get(request.tenant, request.set));
  if (!set)
    throw new RejectedError(
      'rebuild-refused',
      `no evaluation set "${request.set}" for tenant ${request.tenant} (add it with \`searchbus eval-set add\`)`,
    );
  if (!parseCollectionName(live)?.modelId)
    throw new RejectedError('rebuild-refused', `the live collection ${live} does not name its model`);
  const p = await position(run);
  await report(run, 'gating', p.lag, p.processed);
  await context.log(
    `gate: searching ${set.queries.length} judged queries of ${request.set} (tenant ${set.tenant}) on ${live} and ${target}`,
  );
  // Each side is searched with its own model and vector layout (a dense-only live index against a hybrid one).
  const [liveSide, targetSide] = await Promise.all([describeCollection(context.qdrant, live), describeCollection(context.qdrant, target)]);
  const verdict = await runGate(request, set, liveSide, targetSide, { ...context.gate.deps, signal: context.signal });
  await save(run, { gate: verdict });
  await context.log(formatGate(verdict));
  return verdict;
}

/** Refused: the live index is untouched; the target stays for inspection until the grace period. */
async function refuse(run: RebuildRun, verdict: GateReport, live: string): Promise<ReindexResult> {
  const { context, data, target } = run;
  await run.group.close();
  await context.admin.deleteGroups([run.groupId]).catch(() => undefined);
  const graceMs = data.graceMs ?? context.config.reindex.graceMs;
  await context.scheduleDrop(target, graceMs);
  const dropTargetAt = new Date(Date.now() + graceMs).toISOString();
  await report(run, 'done', 0, run.total);
  await context.log(`refused by the gate: ${data.alias} still serves ${live}; ${target} is kept until ${dropTargetAt}`);
  const { count } = await context.qdrant.count(target, { exact: true });
  return {
    outcome: 'refused-by-gate',
    alias: data.alias,
    target,
    previous: live,
    modelId: run.model.id,
    points: count,
    seconds: (Date.now() - run.startedMs) / 1000,
    dropPreviousAt: null,
    dropTargetAt,
    gate: verdict,
    shadow: run.shadow.stats,
  };
}
