import { groupPosition } from '../../runtime/index.ts';
import type { ReindexProgress } from '../reindex-types.ts';
import type { RebuildRun } from './rebuild-run.ts';

export interface GroupPosition {
  /** Messages behind the end of the topic now. */
  lag: number;
  /** Offsets replayed of those present when the rebuild began. */
  processed: number;
  committed: Map<string, bigint>;
  ends: Map<string, bigint>;
}

export async function position(run: RebuildRun): Promise<GroupPosition> {
  const { partitions, lag } = await groupPosition(run.context.admin, run.groupId, run.topic);
  const processed = partitions.reduce((sum, p) => {
    const startEnd = BigInt(run.state.endOffsetsAtStart[String(p.partition)] ?? p.high);
    return sum + Number((p.at < startEnd ? p.at : startEnd) - p.low);
  }, 0);
  return {
    lag,
    processed,
    committed: new Map(partitions.map((p) => [String(p.partition), p.at])),
    ends: new Map(partitions.map((p) => [String(p.partition), p.high])),
  };
}

/** Updates the job's progress, with the shadow comparison's latest stats while it runs. */
export async function report(run: RebuildRun, phase: ReindexProgress['phase'], lag: number, processed: number): Promise<void> {
  const { shadow, rate, total } = run;
  if (shadow.active) shadow.stats = (await run.context.shadow?.stats(run.target).catch(() => shadow.stats)) ?? null;
  const now = Date.now();
  if (now - rate.at >= 1000) {
    rate.perSecond = ((processed - rate.processed) / (now - rate.at)) * 1000;
    rate.at = now;
    rate.processed = processed;
  }
  await run.context.progress({
    phase,
    target: run.target,
    processed,
    total,
    lag,
    messagesPerSecond: Math.round(rate.perSecond * 10) / 10,
    etaSeconds: rate.perSecond > 0 ? Math.ceil(Math.max(0, total - processed) / rate.perSecond) : null,
    ...(shadow.active || shadow.stats ? { shadow: shadow.stats } : {}),
    ...(run.state.gate ? { gate: run.state.gate } : {}),
  });
}
