import { UnavailableError } from '../../topology/index.ts';
import { RewindError, rewindAction, type WriteFence, type WriteFences } from '../runtime/index.ts';

export interface AdmittedBatch {
  /** The fence in force: messages before its offsets are skipped (the rebuild applied them). */
  fence: WriteFence | null;
  /** Called once the batch was written (or found to have nothing to write). */
  written(): Promise<void>;
}

/**
 * Where a live encoder meets a rebuild's hand-over (see write-fence.ts): waits while the fence is
 * closed, takes a lapsed one over at the rebuild group's offsets, and rewinds a partition that was
 * read past the point where a dead rebuild stopped.
 */
export class FenceGate {
  /** `<collection>/<partition>` -> rewind offset this process sought to and has not written from yet. */
  private readonly sought = new Map<string, string>();

  constructor(
    private readonly fences: WriteFences,
    /** The live group this gate admits batches for: each group rewinds on its own. */
    private readonly group: string,
    /** The committed offsets of a rebuild group (the collection names it when the lease does not). */
    private readonly offsetsOf: (collection: string, groupId: string) => Promise<Record<string, string>>,
  ) {}

  async admit(collection: string, batch: { partition: number; firstOffset: string; lastOffset: string }): Promise<AdmittedBatch> {
    let fence = await this.fences.get(collection);
    if (fence?.state === 'closed' && this.fences.takeOverLapsed) {
      fence = await this.fences.takeOverLapsed(collection, (groupId) => this.offsetsOf(collection, groupId));
    }
    if (fence?.state === 'closed')
      throw new UnavailableError('fence-closed', `writes to ${collection} wait for the re-index hand-over to finish`);
    const key = `${collection}/${batch.partition}`;
    const rewind = rewindAction(fence, this.group, batch.partition, batch.firstOffset, this.sought.get(key));
    if (rewind && 'seek' in rewind) {
      this.sought.set(key, rewind.seek);
      throw new RewindError(
        rewind.seek,
        `${collection} was taken over from a rebuild that stopped at offset ${rewind.seek} of partition ${batch.partition}`,
      );
    }
    if (rewind && 'clear' in rewind) await this.fences.clearRewind?.(collection, this.group, batch.partition, rewind.clear);
    return {
      fence,
      written: async () => {
        if (!rewind || !('replay' in rewind)) return;
        // Only after the write: a crash before it leaves the rewind to be done again.
        await this.fences.markCaught?.(collection, this.group, batch.partition, rewind.replay, (BigInt(batch.lastOffset) + 1n).toString());
        this.sought.delete(key);
      },
    };
  }
}
