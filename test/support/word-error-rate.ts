// Word error rate as speech recognition papers count it: (substitutions + deletions + insertions) /
// reference words, after the usual normalisation (case, punctuation, hyphens as spaces). Numbers
// are not spelled out, so references should spell them as the model would.

/** Lower-case words, apostrophes kept inside words, every other punctuation mark dropped. */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[-\u2013\u2014]/g, ' ')
    .replace(/[^\p{L}\p{N}'\s]/gu, '')
    .split(/\s+/)
    .map((word) => word.replace(/^'+|'+$/g, ''))
    .filter((word) => word.length > 0);
}

/** The minimum number of word substitutions, deletions and insertions that turn `hypothesis` into `reference`. */
export function wordEdits(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const row = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = previous[j - 1]! + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, previous[j]! + 1, row[j - 1]! + 1));
    }
    previous = row;
  }
  return previous[hypothesis.length]!;
}

/** Corpus WER: edits summed over the pairs, divided by the reference words summed over them. */
export function wordErrorRate(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): number {
  let edits = 0;
  let words = 0;
  for (const { reference, hypothesis } of pairs) {
    const ref = normaliseWords(reference);
    edits += wordEdits(ref, normaliseWords(hypothesis));
    words += ref.length;
  }
  if (words === 0) throw new RangeError('word error rate of an empty reference');
  return edits / words;
}
