import type { ICustomPartitioner, PartitionerArgs, PartitionMetadata } from 'kafkajs';
import type { HedgePlanner } from './hedge-planner.ts';

/** How long a broker that failed a search's send is avoided for new searches. */
const SUSPECT_MS = 10_000;

/**
 * Picks the request partition of a search. Any partition will do (the query group answers them
 * all, and a request's key is only its id), so a search goes to a partition whose leader has not
 * just failed a send. kafkajs calls the partitioner again for each retry of a send: a second call
 * for the same request means the broker it went to did not acknowledge it (killed, or stopping),
 * so that broker is avoided from then on for a while, and the retry goes to a partition another
 * broker leads instead of waiting for the dead one's partitions to move. A request that reaches
 * the topic twice is answered twice; the client keeps the first reply. Partitions the hedge planner
 * saw stall (no reader answering) are avoided too while others are not.
 */
export class LiveLeaderPartitioner {
  /** Broker id -> until when it is avoided (Date.now()). */
  private readonly suspects = new Map<number, number>();
  /** Request id -> the leader its last attempt went to, while its send runs (at most SUSPECT_MS). */
  private readonly attempts = new Map<string, { leader: number; at: number }>();
  private next = 0;
  /** The request topic's partitions as of the last send. */
  private known: PartitionMetadata[] = [];

  constructor(
    private readonly planner?: Pick<HedgePlanner, 'isStalled' | 'lastAnswered'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** For kafkajs' createPartitioner option. */
  readonly create: ICustomPartitioner = () => (args) => this.partition(args);

  partition({ partitionMetadata, message }: PartitionerArgs): number {
    const now = this.now();
    this.forgetOld(now);
    const id = message.key?.toString() ?? '';
    const previous = this.attempts.get(id);
    if (previous) this.suspects.set(previous.leader, now + SUSPECT_MS);
    this.known = partitionMetadata;
    const withLeader = partitionMetadata.filter((p) => p.leader >= 0);
    const live = withLeader.filter((p) => !this.suspected(p, now));
    const served = live.filter((p) => !this.planner?.isStalled(p.partitionId));
    // Round robin over the partitions led by brokers not suspected and not stalled; failing that,
    // not suspected; all of them when every leader is.
    const choices = served.length > 0 ? served : live.length > 0 ? live : withLeader.length > 0 ? withLeader : partitionMetadata;
    const chosen = choices[this.next++ % choices.length]!;
    if (id !== '') this.attempts.set(id, { leader: chosen.leader, at: now });
    return chosen.partitionId;
  }

  /**
   * Where a hedge of a search sent to `from` goes: another partition with a leader not suspected
   * and not stalled, the one that answered most recently; undefined when there is none.
   */
  hedgeTarget(from: number | undefined): number | undefined {
    const now = this.now();
    const rank = (p: PartitionMetadata): number => this.planner?.lastAnswered(p.partitionId) ?? 0;
    const candidates = this.known
      .filter((p) => p.partitionId !== from && p.leader >= 0 && !this.suspected(p, now) && !this.planner?.isStalled(p.partitionId))
      .sort((a, b) => rank(b) - rank(a));
    return candidates[0]?.partitionId;
  }

  /** The send of request `id` has ended (acknowledged or given up): its attempts are forgotten. */
  done(id: string): void {
    this.attempts.delete(id);
  }

  private suspected(p: PartitionMetadata, now: number): boolean {
    return (this.suspects.get(p.leader) ?? 0) > now;
  }

  private forgetOld(now: number): void {
    for (const [id, attempt] of this.attempts) {
      if (now - attempt.at < SUSPECT_MS) break;
      this.attempts.delete(id);
    }
    for (const [leader, until] of this.suspects) if (until <= now) this.suspects.delete(leader);
  }
}
