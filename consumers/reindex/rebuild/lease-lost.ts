import { UnavailableError } from '../../../topology/index.ts';
import { handoverOffsets } from '../../runtime/index.ts';
import type { RebuildRun } from './rebuild-run.ts';

// The hand-over's ways out other than reopening the fence itself: live encoders took the
// collection over, the lease was lost, or the worker stops and hands it over early.

/** Live encoders write the target now: the rebuild must not write again, only finish. */
export async function takenOver(run: RebuildRun): Promise<{ next: 'finishing' }> {
  await run.group.close();
  await run.context.log(
    `found ${run.target} open and served: live encoders write it from where group ${run.groupId} stopped (an earlier attempt finished the hand-over, or its lease lapsed and they took over)`,
  );
  return { next: 'finishing' };
}

export async function lostLease(run: RebuildRun): Promise<{ next: 'finishing' }> {
  await run.group.close();
  const now = await run.context.fences.get(run.target);
  if (now?.state === 'open') return takenOver(run);
  throw new UnavailableError('fence-lost', `the rebuild of ${run.target} lost its write fence lease`);
}

/**
 * Stopped on purpose (deploy, Ctrl-C) while holding the lease: hand the collection to live
 * encoders now rather than make them wait out the lease; the resumed job finds it taken over and
 * finishes. Never throws: the lease lapses instead, and live encoders take over then.
 */
export async function handBackOnStop(run: RebuildRun): Promise<void> {
  const { context } = run;
  try {
    await run.group.close();
    const offsets = await handoverOffsets(context.admin, run.groupId, run.topic);
    if (await context.fences.reopen(run.target, offsets, 'owner', context.leaseOwner, true)) {
      await context.log(`worker stopping: handed ${run.target} to live encoders where group ${run.groupId} stopped`);
    }
  } catch (handBack) {
    context.logger.warn('could not hand the collection back on stop', { collection: run.target, error: handBack });
  }
}
