import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createRedis } from '../../infra/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { assertTypedFailures, report, SearchLoad } from '../support/faults.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startRoleProcess } from '../support/role-process.ts';

/** Slack on top of the query group's session timeout: by then the dead member has left and the survivor reads every partition. */
const FAILURE_WINDOW_SLACK_MS = 2_000;
const LONG_SESSION_MS = 30_000;

// Query processes (`searchbus run query`) killed with kill -9, as a crash or an OOM kill does: the
// dead member would leave its group only when its session times out (SEARCHBUS_QUERY_SESSION_TIMEOUT_MS).
// One process killed and restarted at once: the new one removes its dead predecessor from the group
// (GroupMemberRegistry, evictGroupMembers) and answers before that session would have ended. Two processes, one killed: no search fails, since the search client sends
// a search unanswered for a second once more to the partition that answered last (hedge-planner.ts).
describe('fault: a query process killed with kill -9', () => {
  let h: Harness;
  let client: SearchClient;
  const children: ChildProcess[] = [];

  before(async () => {
    h = await createHarness();
    client = new SearchClient({
      kafka: h.kafka,
      redis: createRedis(h.services.redis, `test-${h.namespace}-client`),
      topology: h.topology,
    });
    await client.connect();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await client?.close().catch(() => undefined);
    await h?.close().catch(() => undefined);
  });

  const queryProcess = (env: Record<string, string> = {}): ChildProcess => {
    const child = startRoleProcess(h, 'query', env);
    children.push(child);
    return child;
  };

  const kill = async (child: ChildProcess): Promise<void> => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };

  it('answers again after a lone query process is killed and restarted at once', async () => {
    // A long session, so that waiting it out (at least 27 s: heartbeats go every 3 s at most) cannot
    // pass for the dead member's removal (a process start, a few seconds).
    const env = { SEARCHBUS_QUERY_SESSION_TIMEOUT_MS: String(LONG_SESSION_MS) };
    const first = queryProcess(env);
    const load = new SearchLoad(client, { concurrency: 2, timeoutMs: h.config.query.defaultTimeoutMs, perSecond: 20 });
    await load.answeredMore(20, 'searches answered by the first query process');
    await kill(first);
    queryProcess(env);
    const restartedAt = performance.now();
    await load.answeredMore(1, 'a search answered after the restart', 120_000);
    const firstAnswerMs = Math.round(performance.now() - restartedAt);
    await load.answeredMore(20, 'searches answered by the restarted process');
    const outcomes = await load.close();
    report('query process killed and restarted', {
      firstAnswerMsAfterRestart: firstAnswerMs,
      querySessionTimeoutMs: LONG_SESSION_MS,
      searches: outcomes,
    });
    // Without removing the dead member, the new one's join waits for the dead one's session to end.
    assert.ok(
      firstAnswerMs < LONG_SESSION_MS / 2,
      `the restarted process removed its dead predecessor and answered long before its session ended (${firstAnswerMs} ms)`,
    );
    assert.equal(outcomes.overdue, 0, 'no search outlived its deadline');
    assertTypedFailures(outcomes);
  });

  it('with two query processes, answers every search when one is killed: its searches are hedged to the other', async () => {
    const survivor = queryProcess();
    const victim = queryProcess();
    const load = new SearchLoad(client, { concurrency: 2, timeoutMs: h.config.query.defaultTimeoutMs, perSecond: 20 });
    // Every live process (the restarted one of the first case too) in the group, each with some of
    // the request partitions.
    const live = children.filter((c) => c.exitCode === null && c.signalCode === null).length;
    await waitFor(
      `${live} members in the query group`,
      async () => {
        const { groups } = await h.admin.describeGroups([h.topology.groups.query]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === live ? true : undefined;
      },
      120_000,
      250,
    );
    await load.answeredMore(20, 'searches answered by the query processes');
    const hedgedBefore = client.stats.hedged;
    await kill(victim);
    const killedAt = performance.now();
    // Past the dead member's session and the rebalance that follows it: the survivor reads every partition.
    const windowMs = h.config.query.sessionTimeoutMs + FAILURE_WINDOW_SLACK_MS;
    await load.answeredSince(killedAt + windowMs, 40, 'searches sent after the dead member left answered');
    const outcomes = await load.close();
    report('one of two query processes killed', {
      sinceKill: load.startedSince(killedAt),
      failingUntilMsAfterKill: load.failingUntilMs(killedAt),
      hedgedSinceKill: client.stats.hedged - hedgedBefore,
      searches: outcomes,
    });
    // Searches sent to the dead member's partitions are sent again to the survivor's after the
    // hedge delay (SEARCHBUS_QUERY_HEDGE_AFTER_MS), well within their timeout.
    assert.equal(load.errors, 0, 'no search failed, across the kill');
    assert.ok(client.stats.hedged > hedgedBefore, 'searches sent to the dead member were hedged');
    assert.equal(outcomes.overdue, 0, 'no search outlived its deadline');
    assertTypedFailures(outcomes);
    assert.equal(survivor.exitCode, null, 'the other query process runs on');
  });
});
