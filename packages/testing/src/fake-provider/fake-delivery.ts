import { ValidationError } from '@payable/core';

/**
 * One webhook delivery as a provider would send it: the exact raw body and the HTTP headers
 * (lower-case names), ready to hand to `payable.webhooks.receive`, an HTTP route or `verifyWebhook`.
 */
export interface SignedDelivery {
  rawBody: string;
  headers: Record<string, string>;
}

/** Where {@link FakeProvider.deliver} sends deliveries: your webhook entry point. */
export type DeliveryTarget = (delivery: SignedDelivery) => Promise<unknown> | unknown;

/**
 * Misbehaviour to apply while delivering, the way real providers misbehave: the same event twice,
 * events out of order, late, or never. Every random choice comes from `seed`, so a run is
 * reproducible: the same seed and inputs give the same drops, duplicates and order.
 *
 * `duplicate` and `drop` take either a probability (`0 < n < 1`: each delivery independently) or
 * a count (an integer `n >= 1`: exactly `n` distinct deliveries, at most all of them).
 */
export interface DeliveryChaos {
  /** Deliveries sent twice (the copy right after the original unless `reorder`). */
  duplicate?: number;
  /**
   * Shuffle everything to be sent (copies included); with two or more distinct deliveries the
   * order is never the given one.
   */
  reorder?: boolean;
  /** Milliseconds (real time) to wait before each send. */
  delayMs?: number;
  /** Deliveries never sent; they are listed in the report's `dropped`. */
  drop?: number;
  /** Seed of the pseudo-random choices; a random one (reported back) when absent. */
  seed?: number;
}

/** One send made by {@link FakeProvider.deliver}. */
export interface DeliveryAttempt {
  delivery: SignedDelivery;
  /** The position of the delivery in the list given to `deliver`. */
  index: number;
  /** `true` for the second send of a duplicated delivery (the first send is the original). */
  duplicate: boolean;
  /** `true` when the target resolved; `false` when it threw (the error is in `error`). */
  ok: boolean;
  result?: unknown;
  error?: unknown;
}

/** What {@link FakeProvider.deliver} did, in send order. */
export interface DeliveryReport {
  /** The seed used: pass it back as `chaos.seed` to replay the same run. */
  seed: number;
  attempts: DeliveryAttempt[];
  /** Deliveries that were never sent (`chaos.drop`), in the given order. */
  dropped: SignedDelivery[];
}

/** mulberry32: a small, fast, seeded PRNG giving floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkAmount(field: string, value: number | undefined): void {
  if (value === undefined) return;
  const ok = Number.isFinite(value) && value >= 0 && (value < 1 || Number.isInteger(value));
  if (!ok) {
    throw new ValidationError(`chaos.${field} must be a probability in [0, 1) or a whole count.`, {
      context: { field: `chaos.${field}`, reason: 'expected a probability or a count' },
    });
  }
}

/** The candidates picked by a probability or a count, in their original order. */
function pick(spec: number | undefined, candidates: number[], random: () => number): Set<number> {
  if (spec === undefined || spec === 0) return new Set();
  if (spec < 1) return new Set(candidates.filter(() => random() < spec));
  const pool = [...candidates];
  const count = Math.min(spec, pool.length);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return new Set(pool.slice(0, count));
}

/**
 * Sends deliveries to `target` one after the other (each awaited), applying `chaos`. A target that
 * throws does not stop the run: the error is recorded on its attempt, as a provider records a
 * failed delivery.
 */
export async function deliverWithChaos(
  target: DeliveryTarget,
  deliveries: readonly SignedDelivery[],
  chaos: DeliveryChaos = {},
): Promise<DeliveryReport> {
  checkAmount('duplicate', chaos.duplicate);
  checkAmount('drop', chaos.drop);
  if (chaos.delayMs !== undefined && !(Number.isFinite(chaos.delayMs) && chaos.delayMs >= 0)) {
    throw new ValidationError('chaos.delayMs must be a non-negative number.', {
      context: { field: 'chaos.delayMs', reason: 'expected a non-negative number' },
    });
  }
  if (chaos.seed !== undefined && !Number.isSafeInteger(chaos.seed)) {
    throw new ValidationError('chaos.seed must be an integer.', {
      context: { field: 'chaos.seed', reason: 'expected an integer' },
    });
  }
  const seed = chaos.seed ?? Math.floor(Math.random() * 2 ** 32);
  const random = prng(seed);
  const all = deliveries.map((_, i) => i);
  const dropped = pick(chaos.drop, all, random);
  const kept = all.filter((i) => !dropped.has(i));
  const doubled = pick(chaos.duplicate, kept, random);

  const plan: { index: number; duplicate: boolean }[] = [];
  for (const index of kept) {
    plan.push({ index, duplicate: false });
    if (doubled.has(index)) plan.push({ index, duplicate: true });
  }
  if (chaos.reorder === true && kept.length > 1) {
    const before = plan.map((p) => p.index).join();
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [plan[i], plan[j]] = [plan[j] as (typeof plan)[number], plan[i] as (typeof plan)[number]];
    }
    // A shuffle may land on the given order; reordering promises a different one.
    if (plan.map((p) => p.index).join() === before) plan.push(plan.shift() as (typeof plan)[number]);
    // The first send of a delivery is the original, whichever copy the shuffle put first.
    const seen = new Set<number>();
    for (const step of plan) {
      step.duplicate = seen.has(step.index);
      seen.add(step.index);
    }
  }

  const attempts: DeliveryAttempt[] = [];
  for (const step of plan) {
    if (chaos.delayMs !== undefined && chaos.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, chaos.delayMs));
    }
    const original = deliveries[step.index] as SignedDelivery;
    const delivery: SignedDelivery = { rawBody: original.rawBody, headers: { ...original.headers } };
    try {
      const result = await target(delivery);
      attempts.push({ delivery, index: step.index, duplicate: step.duplicate, ok: true, result });
    } catch (error) {
      attempts.push({ delivery, index: step.index, duplicate: step.duplicate, ok: false, error });
    }
  }
  return { seed, attempts, dropped: all.filter((i) => dropped.has(i)).map((i) => deliveries[i] as SignedDelivery) };
}
