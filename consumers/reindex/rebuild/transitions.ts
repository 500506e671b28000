import { ContractError, hasErrorCode } from '../../../topology/index.ts';

// The rebuild protocol as data: its phases, which may follow which, where a later attempt
// re-enters, and from where on the rebuild group writes only under the fence lease.

/** In protocol order. The job persists the phase it is in (`RebuildState.phase`). */
export const REBUILD_PHASES = ['creating', 'replaying', 'shadowing', 'gating', 'handover', 'draining', 'reopening', 'finishing'] as const;
export type RebuildPhase = (typeof REBUILD_PHASES)[number];

/**
 * How an attempt ends. Never persisted: BullMQ records how the job ended (its result or its
 * failure), and an attempt that failed must leave the phase it failed in for the next one.
 * `refused` is both a refused request (a RejectedError `rebuild-refused`) and a gate's refusal (a
 * result); `cancelled` is a CancelledError `rebuild-cancelled`.
 */
export const REBUILD_ENDS = ['done', 'refused', 'cancelled', 'failed'] as const;
export type RebuildEnd = (typeof REBUILD_ENDS)[number];

export type RebuildStep = RebuildPhase | RebuildEnd;

/**
 * Which step may follow which. `failed` may follow every phase: any of them can meet an outage,
 * and the next attempt resumes. Cancellation is honoured only while the rebuild waits for the
 * replay or the shadow hold; from the gate on, a cancel request no longer stops it.
 */
export const TRANSITIONS = {
  creating: ['replaying', 'failed'],
  // Straight to the hand-over when the alias serves nothing else yet (a first build): nothing to compare.
  replaying: ['shadowing', 'handover', 'refused', 'cancelled', 'failed'],
  shadowing: ['gating', 'cancelled', 'failed'],
  gating: ['handover', 'refused', 'failed'],
  // To finishing without reopening: live encoders already took the collection over.
  handover: ['draining', 'finishing', 'failed'],
  draining: ['reopening', 'finishing', 'failed'],
  reopening: ['finishing', 'failed'],
  finishing: ['done', 'failed'],
  done: [],
  refused: [],
  cancelled: [],
  failed: [],
} as const satisfies { readonly [S in RebuildStep]: readonly RebuildStep[] };

export type Successor<S extends RebuildStep> = (typeof TRANSITIONS)[S][number];

/**
 * Where an attempt re-enters when it finds `phase` persisted. What the later phases need from the
 * earlier ones in memory died with the worker that ran them, so some re-enter earlier:
 * - `creating`: resuming makes sure the collection exists, which is all that creating does;
 * - `shadowing`, `gating`: the group fell behind while no worker ran and the swap must wait until
 *   it has caught up again; the shadow announcement lapsed. A gate verdict is kept in the state;
 * - `draining`, `reopening`, `finishing`: the group may write again only under a lease of this
 *   attempt, which only the hand-over takes (after the dead attempt's lease lapsed), and the
 *   hand-over is what finds the fence already reopened and goes on to finishing.
 * State written before phases had these names holds `replaying` or `handover`, which keep their meaning.
 */
export const RESUME_AT: { readonly [P in RebuildPhase]: RebuildPhase } = {
  creating: 'replaying',
  replaying: 'replaying',
  shadowing: 'replaying',
  gating: 'replaying',
  handover: 'handover',
  draining: 'handover',
  reopening: 'handover',
  finishing: 'handover',
};

/** From the hand-over on, the rebuild group writes only while this attempt holds the fence lease. */
const FENCED: ReadonlySet<RebuildPhase> = new Set(['handover', 'draining', 'reopening', 'finishing']);

export function isFenced(phase: RebuildPhase): boolean {
  return FENCED.has(phase);
}

function isRebuildPhase(value: unknown): value is RebuildPhase {
  return (REBUILD_PHASES as readonly unknown[]).includes(value);
}

/**
 * A phase function (or a persisted state) asked for a step the protocol does not have: a bug, never
 * retried into. A ContractError `illegal-transition`; its message names both steps.
 */
function illegalTransition(message: string, cause?: unknown): ContractError<'illegal-transition'> {
  return new ContractError('illegal-transition', message, cause === undefined ? {} : { cause });
}

export function canFollow(from: RebuildStep, to: RebuildStep): boolean {
  return (TRANSITIONS[from] as readonly RebuildStep[]).includes(to);
}

/** Throws a ContractError `illegal-transition` unless `to` may follow `from`; `cause` is the error that ended the phase, if one did. */
export function assertTransition(from: RebuildStep, to: RebuildStep, cause?: unknown): void {
  if (canFollow(from, to)) return;
  const allowed = TRANSITIONS[from].join(', ') || 'nothing';
  throw illegalTransition(`a rebuild cannot go from ${from} to ${to} (allowed: ${allowed})`, cause);
}

/** The end an error thrown by a phase stands for. */
export function endOf(error: unknown): Exclude<RebuildEnd, 'done'> {
  if (hasErrorCode(error, 'rebuild-cancelled')) return 'cancelled';
  if (hasErrorCode(error, 'rebuild-refused')) return 'refused';
  return 'failed';
}

/** The phase an attempt starts in, given what the job persisted (nothing for a new job). */
export function entryPhase(persisted: { phase: string } | undefined): RebuildPhase {
  if (!persisted) return 'creating';
  if (!isRebuildPhase(persisted.phase)) {
    // Written by a newer version, or by hand: guessing a phase could swap an unchecked collection.
    throw illegalTransition(`cannot resume a rebuild persisted in an unknown phase "${persisted.phase}"`);
  }
  return RESUME_AT[persisted.phase];
}
