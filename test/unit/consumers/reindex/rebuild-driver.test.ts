import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RebuildState, ReindexResult } from '../../../../consumers/reindex/reindex-types.ts';
import type { PhaseOutcome } from '../../../../consumers/reindex/rebuild/rebuild-run.ts';
import { drivePhases, type PhaseDriver } from '../../../../consumers/reindex/rebuild/run-rebuild.ts';
import { CancelledError, ContractError } from '../../../../topology/index.ts';
import { REBUILD_PHASES, RESUME_AT, type RebuildPhase } from '../../../../consumers/reindex/rebuild/transitions.ts';

// The driver's logic with fake phases: what runs, in which order, what is persisted and when.

interface FakeRun {
  state: RebuildState;
  /** Each phase run, with the phase persisted when it ran; `resume` for the resume step. */
  log: string[];
  saved: RebuildState[];
}

const RESULT: ReindexResult = {
  outcome: 'swapped',
  alias: 'a',
  target: 't',
  previous: 'p',
  modelId: 'm',
  points: 3,
  seconds: 1,
  dropPreviousAt: null,
};

const HAPPY: { [P in RebuildPhase]: PhaseOutcome } = {
  creating: { next: 'replaying' },
  replaying: { next: 'shadowing', patch: { previous: 'live' } },
  shadowing: { next: 'gating' },
  gating: { next: 'handover' },
  handover: { next: 'draining' },
  draining: { next: 'reopening' },
  reopening: { next: 'finishing' },
  finishing: { next: 'done', result: RESULT },
};

function fakeRun(phase: RebuildPhase): FakeRun {
  return {
    state: { target: 't', groupId: 'g', endOffsetsAtStart: { '0': '10' }, startedAt: '2024-01-01T00:00:00.000Z', phase, previous: null },
    log: [],
    saved: [],
  };
}

function fakeDriver(overrides: Partial<{ [P in RebuildPhase]: (run: FakeRun) => Promise<PhaseOutcome> }> = {}): PhaseDriver<FakeRun> {
  const phase =
    (name: RebuildPhase) =>
    (run: FakeRun): Promise<PhaseOutcome> => {
      run.log.push(`${name} (persisted ${run.state.phase})`);
      return overrides[name]?.(run) ?? Promise.resolve(HAPPY[name]);
    };
  return {
    phases: Object.fromEntries(REBUILD_PHASES.map((name) => [name, phase(name)])) as PhaseDriver<FakeRun>['phases'],
    load: (run) => run.state,
    persist: (run, next, patch) => {
      run.state = { ...run.state, ...patch, phase: next };
      run.saved.push(run.state);
      return Promise.resolve();
    },
    resume: (run) => {
      run.log.push(`resume (persisted ${run.state.phase})`);
      return Promise.resolve();
    },
  };
}

describe('rebuild driver', () => {
  it('runs a new job through every phase, persisting each before it runs', async () => {
    const run = fakeRun('creating');
    assert.equal(await drivePhases(run, fakeDriver(), undefined), RESULT);
    assert.deepEqual(
      run.log,
      REBUILD_PHASES.map((p) => `${p} (persisted ${p})`),
    );
    assert.deepEqual(
      run.saved.map((s) => s.phase),
      REBUILD_PHASES.slice(1),
    );
    assert.equal(run.saved.find((s) => s.phase === 'shadowing')?.previous, 'live', 'a patch is persisted with the phase');
    assert.equal(run.state.previous, 'live', 'and later phases see it');
  });

  for (const persisted of REBUILD_PHASES) {
    it(`resumes a job persisted at ${persisted} at ${RESUME_AT[persisted]}, after the resume step`, async () => {
      const run = fakeRun(persisted);
      await drivePhases(run, fakeDriver(), run.state);
      const entry = RESUME_AT[persisted];
      assert.deepEqual(run.log.slice(0, 2), [`resume (persisted ${persisted})`, `${entry} (persisted ${persisted})`]);
      const rest = REBUILD_PHASES.slice(REBUILD_PHASES.indexOf(entry) + 1);
      assert.deepEqual(
        run.log.slice(2),
        rest.map((p) => `${p} (persisted ${p})`),
      );
      assert.deepEqual(
        run.saved.map((s) => s.phase),
        rest,
      );
    });
  }

  it('resumes state written before phases were named: replaying replays, handover hands over', async () => {
    const replaying = fakeRun('replaying');
    await drivePhases(replaying, fakeDriver(), { ...replaying.state, phase: 'replaying' });
    assert.equal(replaying.log[1], 'replaying (persisted replaying)');
    const handover = fakeRun('handover');
    await drivePhases(handover, fakeDriver(), { ...handover.state, phase: 'handover' });
    assert.equal(handover.log[1], 'handover (persisted handover)');
    assert.ok(!handover.log.some((l) => l.startsWith('replaying') || l.startsWith('gating')), 'nothing before the hand-over runs again');
  });

  it('takes the short ways the phases choose: no comparison on a first build, finishing once taken over', async () => {
    const run = fakeRun('creating');
    const driver = fakeDriver({
      replaying: () => Promise.resolve({ next: 'handover', patch: { previous: null } }),
      handover: () => Promise.resolve({ next: 'finishing' }),
    });
    await drivePhases(run, driver, undefined);
    assert.deepEqual(
      run.saved.map((s) => s.phase),
      ['replaying', 'handover', 'finishing'],
    );
  });

  it('ends with a refusal result without persisting an end', async () => {
    const refused: ReindexResult = { ...RESULT, outcome: 'refused-by-gate' };
    const run = fakeRun('creating');
    assert.equal(
      await drivePhases(run, fakeDriver({ gating: () => Promise.resolve({ next: 'refused', result: refused }) }), undefined),
      refused,
    );
    assert.equal(run.state.phase, 'gating');
    assert.ok(!run.log.some((l) => l.startsWith('handover')));
  });

  it('rejects an illegal transition a phase returns, and persists nothing for it', async () => {
    const run = fakeRun('creating');
    await assert.rejects(
      drivePhases(run, fakeDriver({ replaying: () => Promise.resolve({ next: 'draining' }) }), undefined),
      (error: unknown) =>
        error instanceof ContractError && error.code === 'illegal-transition' && error.message.includes('from replaying to draining'),
    );
    assert.equal(run.state.phase, 'replaying');
    assert.ok(!run.log.some((l) => l.startsWith('draining')));
  });

  it('rethrows what a phase throws where the table allows that end, and leaves its phase persisted', async () => {
    const cancelled = new CancelledError('rebuild-cancelled', 'cancelled');
    const run = fakeRun('creating');
    await assert.rejects(
      drivePhases(run, fakeDriver({ shadowing: () => Promise.reject(cancelled) }), undefined),
      (error: unknown) => error === cancelled,
    );
    assert.equal(run.state.phase, 'shadowing');
    const outage = new Error('qdrant is away');
    const failed = fakeRun('creating');
    await assert.rejects(
      drivePhases(failed, fakeDriver({ draining: () => Promise.reject(outage) }), undefined),
      (error: unknown) => error === outage,
    );
    assert.equal(failed.state.phase, 'draining', 'the next attempt resumes from here');
  });

  it('turns an end the table does not allow there into a ContractError `illegal-transition` caused by it', async () => {
    const cancelled = new CancelledError('rebuild-cancelled', 'cancelled');
    const run = fakeRun('handover');
    await assert.rejects(
      drivePhases(run, fakeDriver({ draining: () => Promise.reject(cancelled) }), run.state),
      (error: unknown) =>
        error instanceof ContractError &&
        error.code === 'illegal-transition' &&
        error.message.includes('from draining to cancelled') &&
        error.cause === cancelled,
    );
  });

  it('runs nothing for an unknown persisted phase', async () => {
    const run = fakeRun('creating');
    await assert.rejects(
      drivePhases(run, fakeDriver(), { phase: 'swapping' }),
      (error: unknown) => error instanceof ContractError && error.code === 'illegal-transition',
    );
    assert.deepEqual(run.log, []);
    assert.deepEqual(run.saved, []);
  });
});
