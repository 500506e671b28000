// Rebuilding the index behind an alias as a phase machine. The protocol, in order:
// phase-creating, phase-replaying, phase-shadowing, phase-gating, phase-handover, phase-draining,
// phase-reopening, phase-finishing; transitions.ts says which may follow which and where a
// resumed job re-enters; run-rebuild.ts drives them and persists each phase in the job.
export { runRebuild, drivePhases, type PhaseDriver, type PhaseTable } from './run-rebuild.ts';
export { abandonRebuild, discardTarget } from './abandon.ts';
export type { RebuildContext } from './context.ts';
export type { PhaseOutcome, RebuildRun, StatePatch } from './rebuild-run.ts';
export {
  REBUILD_PHASES,
  REBUILD_ENDS,
  TRANSITIONS,
  RESUME_AT,
  assertTransition,
  canFollow,
  endOf,
  entryPhase,
  isFenced,
  type RebuildEnd,
  type RebuildPhase,
  type RebuildStep,
} from './transitions.ts';
