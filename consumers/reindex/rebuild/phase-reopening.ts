import { lostLease } from './lease-lost.ts';
import { position } from './progress.ts';
import type { PhaseOutcome, RebuildRun } from './rebuild-run.ts';

/** Opens the fence at the group's final offsets: live encoders continue from exactly where it stopped. */
export async function phaseReopening(run: RebuildRun): Promise<PhaseOutcome<'reopening'>> {
  const { committed } = await position(run);
  await run.keeper.close();
  const offsets = Object.fromEntries([...committed].map(([partition, offset]) => [partition, offset.toString()]));
  if (!(await run.context.fences.reopen(run.target, offsets, 'owner', run.context.leaseOwner))) return lostLease(run);
  return { next: 'finishing' };
}
