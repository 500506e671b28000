import { describeLoss, describeOverflow, documentsLost } from '../document-loss.ts';
import { RejectedError } from '../../../topology/index.ts';
import type { RebuildRun } from './rebuild-run.ts';

/** Nothing the live collection serves may be missing from the target because the replay could not write it. */
export async function refuseLoss(run: RebuildRun, live: string): Promise<void> {
  const unwritten = run.state.unwritten;
  if (!unwritten) return;
  if (unwritten.overflow > 0) throw new RejectedError('rebuild-refused', describeOverflow(unwritten, run.target));
  const lost = await documentsLost(run.context.qdrant, live, run.target, unwritten.documents);
  if (lost.length > 0) throw new RejectedError('rebuild-refused', describeLoss(lost, live, run.target));
  await run.context.log(
    `${unwritten.documents.length} document(s) dead-lettered by the replay; none is served by ${live}, so the swap loses nothing`,
  );
}
