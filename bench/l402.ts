/**
 * L402 verification benchmark (issue 7): full verifications per second on one core, `@payable/l402`
 * against the `macaroon` library's verify, same work per request (packages/l402/bench/verify-work.ts,
 * shared with the vitest micro-benchmark). Runs in a child process of its own (one thread, nothing
 * else in it), the two sides interleaved in rounds, the order alternating, so that background load on
 * the machine hits both alike; the median round of each side is reported, and their ratio.
 */
import { fileURLToPath } from 'node:url';
import { createVerifyWork, LIBRARY } from '../packages/l402/bench/verify-work.js';
import { exited, forkBench, nextMessage } from './shared.js';

/** Issue 7's goal: at least this many verifications per second on one core (and ahead of the library). */
export const L402_GOAL_PER_SECOND = 50_000;

/** How long to measure. */
export interface L402Options {
  /** Rounds per side (each round measures both sides, in alternating order). */
  rounds: number;
  /** Seconds per side per round. */
  roundSeconds: number;
  /** Seconds of unmeasured warm-up per side before the first round. */
  warmupSeconds: number;
}

/** One side's figures. */
export interface L402Side {
  /** Wall-clock verifications per second of each round, in round order. */
  perSecond: number[];
  /** Verifications per second of CPU time (user + system) of each round, in round order. */
  perCpuSecond: number[];
  /** Median of `perSecond`. */
  median: number;
  /** Median of `perCpuSecond`. */
  medianCpu: number;
  /** Verifications measured over all rounds. */
  verifications: number;
}

/** What the L402 section of a run measured. */
export interface L402Result {
  /** The library measured against (`macaroon@3.0.4`). */
  library: string;
  /** Caveats in the verified token. */
  caveats: number;
  /** Bytes of the `Authorization` value. */
  headerBytes: number;
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  ours: L402Side;
  theirs: L402Side;
  /** `ours.median / theirs.median`. */
  ratio: number;
  /** Ours / theirs within each round. */
  roundRatios: number[];
  goalPerSecond: number;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Call `verify` in batches until `seconds` have passed; every call must pass. */
function measure(verify: () => boolean, seconds: number): { calls: number; perSecond: number; perCpuSecond: number } {
  const batch = 256;
  const budget = BigInt(Math.round(seconds * 1e9));
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let calls = 0;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < batch; i++) {
      if (!verify()) throw new Error('a verification failed during the benchmark');
    }
    calls += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    calls,
    perSecond: calls / (Number(elapsed) / 1e9),
    perCpuSecond: calls / ((cpu.user + cpu.system) / 1e6),
  };
}

/**
 * Measure both sides in this process (the child's work).
 *
 * @example
 * ```ts
 * const result = measureL402({ rounds: 5, roundSeconds: 1, warmupSeconds: 1 });
 * ```
 */
export function measureL402(options: L402Options): L402Result {
  const work = createVerifyWork();
  if (!work.ours() || !work.theirs()) throw new Error('the benchmark token does not verify on both sides');
  const sides = { ours: () => work.ours(), theirs: () => work.theirs() };
  for (const name of ['ours', 'theirs', 'ours', 'theirs'] as const) measure(sides[name], options.warmupSeconds / 2);
  const rounds: Record<'ours' | 'theirs', ReturnType<typeof measure>[]> = { ours: [], theirs: [] };
  for (let i = 0; i < options.rounds; i++) {
    const order = i % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
    for (const name of order) rounds[name].push(measure(sides[name], options.roundSeconds));
  }
  const side = (rs: ReturnType<typeof measure>[]): L402Side => ({
    perSecond: rs.map((r) => r.perSecond),
    perCpuSecond: rs.map((r) => r.perCpuSecond),
    median: median(rs.map((r) => r.perSecond)),
    medianCpu: median(rs.map((r) => r.perCpuSecond)),
    verifications: rs.reduce((a, r) => a + r.calls, 0),
  });
  const ours = side(rounds.ours);
  const theirs = side(rounds.theirs);
  return {
    library: LIBRARY,
    caveats: work.caveats.length,
    headerBytes: Buffer.byteLength(work.header),
    rounds: options.rounds,
    roundSeconds: options.roundSeconds,
    warmupSeconds: options.warmupSeconds,
    ours,
    theirs,
    ratio: ours.median / theirs.median,
    roundRatios: ours.perSecond.map((x, i) => x / (theirs.perSecond[i] as number)),
    goalPerSecond: L402_GOAL_PER_SECOND,
  };
}

/**
 * Run the L402 benchmark in a child process of its own and return its figures.
 *
 * @example
 * ```ts
 * const result = await runL402({ rounds: 7, roundSeconds: 1, warmupSeconds: 1 });
 * console.log(result.ours.median, result.theirs.median, result.ratio);
 * ```
 */
export async function runL402(options: L402Options): Promise<L402Result> {
  const child = forkBench('./l402.ts', [JSON.stringify(options)]);
  const { result } = await nextMessage<{ type: 'result'; result: L402Result }>(child, 'result');
  await exited(child);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as L402Options;
  try {
    const result = measureL402(options);
    // Exit once the message is handed to the IPC channel.
    process.send?.({ type: 'result', result }, () => process.exit(0));
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
