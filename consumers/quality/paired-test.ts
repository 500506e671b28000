// The paired significance test shared by `eval --compare` and the re-index gate: a two-sided
// randomization (sign-flip permutation) test on per-query differences, the test Smucker, Allan
// and Carterette (CIKM 2007) recommend for IR. Under the null hypothesis that both systems are
// interchangeable, each query's difference is as likely to have either sign; the p-value is the
// share of sign assignments whose mean difference is at least as far from zero as the observed.
// Exact (every assignment) when few queries differ, otherwise Monte Carlo with a seeded generator,
// so the same inputs always give the same p-value.

import { ContractError } from '../../topology/errors.ts';
import { seededUint32 } from './seeded-random.ts';

export interface PairedTestOptions {
  /** Random sign assignments drawn when the exact test is too large. */
  permutations?: number;
  seed?: number;
  /** Enumerate every assignment when at most this many queries differ (2^n of them). */
  exactUpTo?: number;
  /** Differences within this are ties (and cannot change the statistic). */
  tieTolerance?: number;
}

export interface PairedComparison {
  queries: number;
  /** Queries where b scores higher than a, lower, and equal (within the tie tolerance). */
  wins: number;
  losses: number;
  ties: number;
  meanA: number;
  meanB: number;
  /** mean(b) - mean(a). */
  meanDifference: number;
  /** Two-sided; 1 when no query differs. */
  pValue: number;
  method: 'exact' | 'monte-carlo';
  /** Sign assignments evaluated. */
  permutations: number;
}

const DEFAULTS = { permutations: 10_000, seed: 0x5eed, exactUpTo: 16, tieTolerance: 1e-9 } as const;

/** Compares per-query scores of system b against system a (same queries, same order). */
export function pairedRandomizationTest(a: readonly number[], b: readonly number[], options: PairedTestOptions = {}): PairedComparison {
  if (a.length !== b.length)
    throw new ContractError('paired-input', `paired scores need the same queries: ${a.length} against ${b.length}`);
  for (const value of [...a, ...b])
    if (!Number.isFinite(value)) throw new ContractError('paired-input', `scores must be finite numbers, got ${value}`);
  const { permutations, seed, exactUpTo, tieTolerance } = { ...DEFAULTS, ...options };
  const differences = b.map((value, i) => value - (a[i] ?? 0));
  const differing = differences.filter((d) => Math.abs(d) > tieTolerance);
  const wins = differing.filter((d) => d > 0).length;
  const meanA = mean(a);
  const meanB = mean(b);
  const base = {
    queries: a.length,
    wins,
    losses: differing.length - wins,
    ties: a.length - differing.length,
    meanA,
    meanB,
    meanDifference: meanB - meanA,
  };
  if (differing.length === 0) return { ...base, pValue: 1, method: 'exact', permutations: 1 };

  // Ties add zero to every assignment's sum, so the sum over the differing queries decides.
  const observed = Math.abs(sum(differing));
  // Floating-point sums of the same magnitudes in another order may differ in the last bits.
  const atLeast = observed - 1e-9 * Math.max(1, observed);
  if (differing.length <= exactUpTo) {
    const total = 2 ** differing.length;
    let extreme = 0;
    for (let signs = 0; signs < total; signs++) {
      let s = 0;
      for (let i = 0; i < differing.length; i++) s += (signs >> i) & 1 ? -differing[i]! : differing[i]!;
      if (Math.abs(s) >= atLeast) extreme += 1;
    }
    return { ...base, pValue: extreme / total, method: 'exact', permutations: total };
  }
  const random = seededUint32(seed);
  let extreme = 0;
  for (let p = 0; p < permutations; p++) {
    let s = 0;
    let bits = 0;
    for (let i = 0; i < differing.length; i++) {
      if (i % 32 === 0) bits = random();
      s += (bits >>> (i % 32)) & 1 ? -differing[i]! : differing[i]!;
    }
    if (Math.abs(s) >= atLeast) extreme += 1;
  }
  // The observed assignment counts as one of the sample (Phipson and Smyth 2010): never 0.
  return { ...base, pValue: (extreme + 1) / (permutations + 1), method: 'monte-carlo', permutations };
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}
