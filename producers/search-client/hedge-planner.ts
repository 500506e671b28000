/** How long a request partition that let a search go unanswered is avoided by new searches. */
const STALL_MS = 5_000;
/** The budget's window: hedges in it may be at most BUDGET_RATIO of the searches sent in it, plus BUDGET_BURST. */
const BUDGET_WINDOW_MS = 10_000;
const BUDGET_RATIO = 0.5;
const BUDGET_BURST = 10;

/**
 * What the search client knows about who answers which request partition, for hedged requests.
 *
 * A request partition is read by one member of the query group. When that member dies without
 * leaving (kill -9, a lost host), its partitions are not handed to the others until its session
 * times out (SEARCHBUS_QUERY_SESSION_TIMEOUT_MS, 6 s at the least on a default broker), and the
 * searches sent there meanwhile time out. A search unanswered after `hedgeAfterMs` is sent once more,
 * under the same id, to the partition that most recently answered; the first reply wins (requests
 * are idempotent by id, a second reply is dropped). The partition that stalled is avoided by new
 * searches for a while, so one dead member costs its share of searches one hedge delay, not a
 * timeout. The budget keeps hedges from doubling the load when every partition is merely slow.
 */
export class HedgePlanner {
  /** Request partition -> when it last answered a search sent only there. */
  private readonly answeredAt = new Map<number, number>();
  /** Request partition -> until when new searches avoid it. */
  private readonly stalledUntil = new Map<number, number>();
  /** Searches and hedges sent, per second of the budget's window. */
  private readonly sends = new Map<number, number>();
  private readonly hedges = new Map<number, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A search was sent (its first send, not a hedge). */
  sent(): void {
    bump(this.sends, this.second());
  }

  /** A search sent only to `partition` was answered: someone reads that partition. */
  answered(partition: number): void {
    this.answeredAt.set(partition, this.now());
    this.stalledUntil.delete(partition);
  }

  /** A search sent to `partition` went unanswered for the hedge delay: new searches avoid it for a while. */
  stalled(partition: number): void {
    this.stalledUntil.set(partition, this.now() + STALL_MS);
  }

  isStalled(partition: number): boolean {
    const until = this.stalledUntil.get(partition);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.stalledUntil.delete(partition);
    return false;
  }

  /** When `partition` last answered, for ranking hedge targets (0: never seen answering). */
  lastAnswered(partition: number): number {
    return this.answeredAt.get(partition) ?? 0;
  }

  /** Takes one hedge from the budget; false when the window's hedges are spent. */
  spend(): boolean {
    const second = this.second();
    const window = (counts: Map<number, number>): number => {
      let sum = 0;
      for (const [at, n] of counts) {
        if (at <= second - BUDGET_WINDOW_MS / 1_000) counts.delete(at);
        else sum += n;
      }
      return sum;
    };
    if (window(this.hedges) >= BUDGET_BURST + BUDGET_RATIO * window(this.sends)) return false;
    bump(this.hedges, second);
    return true;
  }

  private second(): number {
    return Math.floor(this.now() / 1_000);
  }
}

function bump(counts: Map<number, number>, at: number): void {
  counts.set(at, (counts.get(at) ?? 0) + 1);
}
