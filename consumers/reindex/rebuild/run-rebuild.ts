import { hasErrorCode } from '../../../topology/index.ts';
import type { RebuildState, ReindexJobData, ReindexResult } from '../reindex-types.ts';
import { discardCancelled } from './abandon.ts';
import type { RebuildContext } from './context.ts';
import { handBackOnStop } from './lease-lost.ts';
import { phaseCreating, reserveTarget, resumeRun } from './phase-creating.ts';
import { phaseDraining } from './phase-draining.ts';
import { phaseFinishing } from './phase-finishing.ts';
import { phaseGating } from './phase-gating.ts';
import { phaseHandover } from './phase-handover.ts';
import { phaseReopening } from './phase-reopening.ts';
import { phaseReplaying } from './phase-replaying.ts';
import { phaseShadowing } from './phase-shadowing.ts';
import { closeRun, openAttempt, openRun, save, type PhaseOutcome, type RebuildRun, type StatePatch } from './rebuild-run.ts';
import { assertTransition, endOf, entryPhase, type RebuildPhase } from './transitions.ts';

/** One function per phase. A phase's return type names only the steps the transition table allows after it. */
export type PhaseTable<R> = { readonly [P in RebuildPhase]: (run: R) => Promise<PhaseOutcome<P>> };

export interface PhaseDriver<R> {
  phases: { readonly [P in RebuildPhase]: (run: R) => Promise<PhaseOutcome> };
  /** The state as last persisted. */
  load(run: R): RebuildState;
  /** Persists `phase` (with `patch`) before it runs: a worker that dies in it resumes there. */
  persist(run: R, phase: RebuildPhase, patch: StatePatch): Promise<void>;
  /** Runs before a resumed attempt's first phase. */
  resume(run: R): Promise<void>;
}

const PHASES = {
  creating: phaseCreating,
  replaying: phaseReplaying,
  shadowing: phaseShadowing,
  gating: phaseGating,
  handover: phaseHandover,
  draining: phaseDraining,
  reopening: phaseReopening,
  finishing: phaseFinishing,
} satisfies PhaseTable<RebuildRun>;

const DRIVER: PhaseDriver<RebuildRun> = {
  phases: PHASES,
  load: (run) => run.state,
  persist: (run, phase, patch) => save(run, { ...patch, phase }),
  resume: resumeRun,
};

/**
 * Runs phases until one ends the rebuild: load the persisted phase, run it, persist the next, go
 * on. `persisted` is what the job held when this attempt began (nothing for a new job): a resumed
 * attempt re-enters where RESUME_AT says. A transition the table does not allow, returned or
 * thrown, is a ContractError `illegal-transition` (caused by what was thrown): acting on an end nobody
 * planned for there (discarding a target on a cancel after the swap, say) could do harm.
 */
export async function drivePhases<R>(run: R, driver: PhaseDriver<R>, persisted: { phase: string } | undefined): Promise<ReindexResult> {
  let phase = entryPhase(persisted);
  if (persisted) await driver.resume(run);
  for (;;) {
    let outcome: PhaseOutcome;
    try {
      outcome = await driver.phases[phase](run);
    } catch (error) {
      assertTransition(phase, endOf(error), error);
      throw error;
    }
    assertTransition(phase, outcome.next);
    if ('result' in outcome) return outcome.result;
    await driver.persist(run, outcome.next, outcome.patch ?? {});
    phase = driver.load(run).phase;
  }
}

/**
 * Rebuilds the collection behind `data.alias` with `data.modelId`, with zero downtime and one
 * writer per message, through the phases in transitions.ts (one file each): creating, replaying,
 * shadowing, gating, handover, draining, reopening, finishing. Media are re-read (inline, or from
 * their claim-check uri) and embedded again into the target's `image`/`audio` vectors; a document
 * the replay dead-lettered that the live collection still serves refuses the rebuild.
 * Resumable at every phase: the target, group, phase and previous collection live in the job, and
 * the group's committed offsets say how far the replay got. If this attempt dies after the
 * hand-over, its lease lapses and live encoders reopen the fence where the group stopped (see
 * write-fence.ts); a later attempt that finds the fence open that way just finishes.
 */
export async function runRebuild(data: ReindexJobData, context: RebuildContext): Promise<ReindexResult> {
  const attempt = await openAttempt(data, context);
  const run = openRun(attempt, data.state ?? (await reserveTarget(attempt)));
  try {
    return await drivePhases(run, DRIVER, data.state);
  } catch (error) {
    if (context.signal.aborted && run.leaseHeld) await handBackOnStop(run);
    if (hasErrorCode(error, 'rebuild-cancelled')) await discardCancelled(run);
    throw error;
  } finally {
    await closeRun(run);
  }
}
