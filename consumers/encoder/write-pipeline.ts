/**
 * Runs `encode` and `write` over groups so that the model never waits for the store: group i+1 is
 * encoded while group i is written. Writes run one at a time and in group order, so a later
 * group's write never lands before an earlier one's; the promise resolves only once every write has
 * been acknowledged (the caller commits after that). On a failure no further write starts, the
 * operation still in flight is awaited (nothing is left running behind the caller's back), and the
 * first error is thrown.
 */
export async function encodeAndWrite<G, E>(
  groups: readonly G[],
  encode: (group: G) => Promise<E>,
  write: (group: G, encoded: E) => Promise<void>,
): Promise<E[]> {
  const results: E[] = [];
  let writing: Promise<void> = Promise.resolve();
  for (const group of groups) {
    // Async wrapper: a synchronous throw becomes a rejection, handled like any other.
    const encoding = (async () => encode(group))();
    // Both must settle before going on: the previous write (order, and a failure stops us) and
    // this group's encoding (it is what the next write needs).
    const [wrote, encoded] = await Promise.allSettled([writing, encoding]);
    if (wrote.status === 'rejected') throw wrote.reason;
    if (encoded.status === 'rejected') throw encoded.reason;
    results.push(encoded.value);
    writing = write(group, encoded.value);
  }
  await writing;
  return results;
}

/** Consecutive groups of at most `size` items, in order. */
export function inGroups<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`group size must be a positive integer, got ${size}`);
  const groups: T[][] = [];
  for (let from = 0; from < items.length; from += size) groups.push(items.slice(from, from + size));
  return groups;
}
