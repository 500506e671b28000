// Rebuilding the index behind an alias as a phase machine. The protocol, in order:
// phase-creating, phase-replaying, phase-shadowing, phase-gating, phase-handover, phase-draining,
// phase-reopening, phase-finishing; transitions.ts says which may follow which and where a
// resumed job re-enters; run-rebuild.ts drives them and persists each phase in the job.
export { runRebuild } from './run-rebuild.ts';
export { abandonRebuild, discardTarget } from './abandon.ts';
