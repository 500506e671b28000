import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, ContractError, RejectedError } from '../../../../topology/index.ts';
import {
  REBUILD_ENDS,
  REBUILD_PHASES,
  RESUME_AT,
  TRANSITIONS,
  assertTransition,
  canFollow,
  endOf,
  entryPhase,
  isFenced,
  type RebuildStep,
} from '../../../../consumers/reindex/rebuild/transitions.ts';

const STEPS: RebuildStep[] = [...REBUILD_PHASES, ...REBUILD_ENDS];

/** A ContractError `illegal-transition` (never retriable) whose message names both steps. */
function illegalTransition(from: string, to: string, cause?: unknown): (error: unknown) => boolean {
  return (error) =>
    error instanceof ContractError &&
    error.code === 'illegal-transition' &&
    !error.retriable &&
    error.message.includes(`from ${from} to ${to}`) &&
    (cause === undefined || error.cause === cause);
}

function reachable(from: RebuildStep): Set<RebuildStep> {
  const seen = new Set<RebuildStep>([from]);
  const queue = [from];
  for (let step = queue.shift(); step; step = queue.shift()) {
    for (const next of TRANSITIONS[step]) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('rebuild transition table', () => {
  it('has a row for every step, and nothing follows an end', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...STEPS].sort());
    for (const end of REBUILD_ENDS) assert.deepEqual(TRANSITIONS[end], [], end);
  });

  it('allows the whole protocol in order', () => {
    const path: RebuildStep[] = ['creating', 'replaying', 'shadowing', 'gating', 'handover', 'draining', 'reopening', 'finishing', 'done'];
    for (let i = 1; i < path.length; i++) {
      const [from, to] = [path[i - 1], path[i]] as [RebuildStep, RebuildStep];
      assert.doesNotThrow(() => assertTransition(from, to), `${from} -> ${to}`);
    }
  });

  it('allows the short ways: a first build straight to the hand-over, a taken-over collection straight to finishing, a refusal', () => {
    for (const [from, to] of [
      ['replaying', 'handover'],
      ['handover', 'finishing'],
      ['draining', 'finishing'],
      ['replaying', 'refused'],
      ['gating', 'refused'],
    ] as const) {
      assert.equal(canFollow(from, to), true, `${from} -> ${to}`);
    }
  });

  it('lets every phase fail (the next attempt resumes), and honours cancellation only before the gate', () => {
    for (const phase of REBUILD_PHASES) assert.equal(canFollow(phase, 'failed'), true, phase);
    assert.deepEqual(
      REBUILD_PHASES.filter((p) => canFollow(p, 'cancelled')),
      ['replaying', 'shadowing'],
    );
    assert.deepEqual(
      REBUILD_PHASES.filter((p) => canFollow(p, 'done')),
      ['finishing'],
    );
  });

  it('throws a ContractError `illegal-transition` for an illegal transition', () => {
    const illegal: Array<[RebuildStep, RebuildStep]> = [
      ['creating', 'handover'],
      ['replaying', 'draining'],
      ['replaying', 'done'],
      ['shadowing', 'handover'],
      ['gating', 'replaying'],
      ['handover', 'cancelled'],
      ['handover', 'refused'],
      ['draining', 'handover'],
      ['reopening', 'done'],
      ['finishing', 'replaying'],
      ['done', 'failed'],
      ['failed', 'replaying'],
      ['creating', 'creating'],
    ];
    for (const [from, to] of illegal) {
      assert.equal(canFollow(from, to), false, `${from} -> ${to}`);
      assert.throws(() => assertTransition(from, to), illegalTransition(from, to), `${from} -> ${to}`);
    }
  });

  it('keeps the error that ended a phase as the cause of an illegal end', () => {
    const cause = new CancelledError('rebuild-cancelled', 'cancelled');
    assert.throws(() => assertTransition('draining', endOf(cause), cause), illegalTransition('draining', 'cancelled', cause));
  });

  it('reaches every step from creating, and done from every phase', () => {
    assert.deepEqual([...reachable('creating')].sort(), [...STEPS].sort());
    for (const phase of REBUILD_PHASES) assert.ok(reachable(phase).has('done'), phase);
  });

  it('names the end an error stands for, by its code', () => {
    assert.equal(endOf(new CancelledError('rebuild-cancelled', 'x')), 'cancelled');
    assert.equal(endOf(new RejectedError('rebuild-refused', 'x')), 'refused');
    // The kind alone is not enough: another cancellation or refusal is a failure of the attempt.
    assert.equal(endOf(new CancelledError('start-aborted', 'x')), 'failed');
    assert.equal(endOf(new RejectedError('eval-model-mismatch', 'x')), 'failed');
    assert.equal(endOf(new Error('x')), 'failed');
    assert.equal(endOf('not even an error'), 'failed');
  });

  it('fences the group from the hand-over on', () => {
    assert.deepEqual(REBUILD_PHASES.filter(isFenced), ['handover', 'draining', 'reopening', 'finishing']);
  });
});

describe('where a resumed rebuild re-enters', () => {
  it('starts a new job at creating', () => {
    assert.equal(entryPhase(undefined), 'creating');
  });

  it('never re-enters after the persisted phase, and re-enters the fenced phases through the hand-over', () => {
    for (const phase of REBUILD_PHASES) {
      const entry = RESUME_AT[phase];
      assert.equal(entryPhase({ phase }), entry);
      assert.ok(REBUILD_PHASES.indexOf(entry) <= REBUILD_PHASES.indexOf(phase) || phase === 'creating', `${phase} -> ${entry}`);
      if (isFenced(phase)) assert.equal(entry, 'handover', phase);
    }
    // Resuming already made sure the collection exists; the replay is what comes next.
    assert.equal(RESUME_AT.creating, 'replaying');
    // The group must catch up again before any gate or swap.
    assert.equal(RESUME_AT.shadowing, 'replaying');
    assert.equal(RESUME_AT.gating, 'replaying');
  });

  it('reads state written before phases were named as it was meant', () => {
    assert.equal(entryPhase({ phase: 'replaying' }), 'replaying');
    assert.equal(entryPhase({ phase: 'handover' }), 'handover');
  });

  it('refuses to guess an unknown persisted phase', () => {
    assert.throws(
      () => entryPhase({ phase: 'swapping' }),
      (error: unknown) => error instanceof ContractError && error.code === 'illegal-transition' && error.message.includes('"swapping"'),
    );
  });
});
