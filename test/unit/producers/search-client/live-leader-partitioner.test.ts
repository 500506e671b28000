import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionMetadata } from 'kafkajs';
import { HedgePlanner } from '../../../../producers/search-client/hedge-planner.ts';
import { LiveLeaderPartitioner } from '../../../../producers/search-client/live-leader-partitioner.ts';

/** Three partitions led by brokers 1, 2 and 3. */
function layout(leaders: number[] = [1, 2, 3]): PartitionMetadata[] {
  return leaders.map((leader, partitionId) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [1, 2, 3], isr: [1, 2, 3] }));
}

describe('LiveLeaderPartitioner', () => {
  it('spreads first attempts over every partition', () => {
    const p = new LiveLeaderPartitioner(undefined, () => 0);
    const chosen = ['a', 'b', 'c', 'd', 'e', 'f'].map((key) =>
      p.partition({ topic: 't', partitionMetadata: layout(), message: { key, value: '' } }),
    );
    assert.deepEqual([...new Set(chosen)].sort(), [0, 1, 2]);
  });

  it('sends a retry to a partition another broker leads, and keeps new searches off the failed broker for a while', () => {
    let now = 0;
    const p = new LiveLeaderPartitioner(undefined, () => now);
    const call = (key: string, leaders?: number[]): number =>
      p.partition({ topic: 't', partitionMetadata: layout(leaders), message: { key, value: '' } });
    const first = call('r1');
    const failedLeader = first + 1;
    const retry = call('r1');
    assert.notEqual(retry + 1, failedLeader, 'the retry avoids the broker that did not acknowledge');
    p.done('r1');
    for (let i = 0; i < 6; i++) assert.notEqual(call(`n${i}`) + 1, failedLeader, 'new searches avoid it too');
    now = 10_001;
    const later = Array.from({ length: 6 }, (_, i) => call(`m${i}`) + 1);
    assert.ok(later.includes(failedLeader), 'after 10 s the broker is used again');
  });

  it('falls back to every partition when every leader is suspect, and skips partitions without a leader', () => {
    const p = new LiveLeaderPartitioner(undefined, () => 0);
    const call = (key: string, leaders?: number[]): number =>
      p.partition({ topic: 't', partitionMetadata: layout(leaders), message: { key, value: '' } });
    // Broker 1 leads every partition and has just failed a send.
    call('x', [1, 1, 1]);
    call('x', [1, 1, 1]);
    assert.ok([0, 1, 2].includes(call('w', [1, 1, 1])), 'a partition all the same');
    const q = new LiveLeaderPartitioner(undefined, () => 0);
    for (let i = 0; i < 4; i++)
      assert.notEqual(q.partition({ topic: 't', partitionMetadata: layout([1, -1, 3]), message: { key: `k${i}`, value: '' } }), 1);
  });

  it('keeps new searches off a stalled partition, and hedges to the partition that answered last', () => {
    let now = 0;
    const planner = new HedgePlanner(() => now);
    const p = new LiveLeaderPartitioner(planner, () => now);
    const call = (key: string): number => p.partition({ topic: 't', partitionMetadata: layout(), message: { key, value: '' } });
    call('seen'); // the partitioner learns the layout from its first call
    planner.answered(0);
    now = 5;
    planner.answered(2);
    assert.equal(p.hedgeTarget(1), 2, 'the most recent answer wins');
    planner.stalled(2);
    assert.equal(p.hedgeTarget(1), 0, 'never to a stalled partition');
    for (let i = 0; i < 6; i++) assert.notEqual(call(`n${i}`), 2, 'new searches avoid the stalled partition');
    planner.stalled(0);
    planner.stalled(1);
    assert.equal(p.hedgeTarget(1), undefined, 'no partition left to hedge to');
    assert.ok([0, 1, 2].includes(call('all-stalled')), 'with every partition stalled, any partition all the same');
    now = 5_006;
    assert.ok(
      Array.from({ length: 6 }, (_, i) => call(`m${i}`)).includes(2),
      'a stall is forgotten after 5 s: the partition is tried again',
    );
  });
});
