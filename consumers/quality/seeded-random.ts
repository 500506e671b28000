// One seedable generator for everything that needs reproducible randomness: the paired
// randomization test's Monte Carlo signs, and tests that generate data from a seed so a failure
// reproduces. Math.random cannot be seeded, and no dependency is worth four lines.

/**
 * 32 random bits per call (an unsigned integer) from a 32-bit seed: mulberry32, by Tommy Ettinger,
 * public domain. Not for anything secret.
 */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Numbers in [0, 1) from the same sequence: each is the next 32 bits over 2^32. */
export function seededUnit(seed: number): () => number {
  const next = seededUint32(seed);
  return () => next() / 4294967296;
}
