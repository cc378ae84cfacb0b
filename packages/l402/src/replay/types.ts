/**
 * A token being redeemed under the single-use replay policy.
 *
 * @example
 * ```ts
 * const token: ReplayToken = { tenantId: null, paymentHash: 'ab12…', expiresAt, now: clock.now() };
 * ```
 */
export interface ReplayToken {
  /** The merchant (tenant) the token was issued for; `null` in single-tenant apps. */
  readonly tenantId: string | null;
  /** The token's payment hash, 64 lowercase hex characters: what "spent" is recorded against. */
  readonly paymentHash: string;
  /** When the token expires (its `valid_until`): a store may forget the hash after it. `null`: unknown. */
  readonly expiresAt: Date | null;
  /** The current time (from the paywall's clock). */
  readonly now: Date;
}

/**
 * Where spent tokens are recorded under the single-use replay policy (l402-kit's behaviour): each
 * paid invoice opens exactly one request. `consume` marks a payment hash as spent atomically and
 * answers whether this call was the first (`true`: serve the request) or the hash was spent
 * before (`false`: `L402_TOKEN_USED`).
 *
 * Payable ships `MemoryReplayStore` (one process), `RedisReplayStore` (shared, `SET NX`) and
 * `StorageReplayStore` (the storage driver's unique payment hash: durable across instances and
 * restarts). The paywall puts the storage store behind any other one as a durable second layer.
 *
 * @example
 * ```ts
 * const store: ReplayStore = {
 *   async consume({ tenantId, paymentHash }) { return mySet.add(`${tenantId}:${paymentHash}`); },
 * };
 * ```
 */
export interface ReplayStore {
  /** Mark the token spent; `true` when this call spent it, `false` when it was already spent. */
  consume(token: ReplayToken): Promise<boolean>;
}

/** How long a store keeps a hash whose token states no expiry: 24 hours. */
export const DEFAULT_REPLAY_TTL_MS = 24 * 3600 * 1000;

/** The key a shared store records a hash under: `<tenant or "-">:<payment hash>`. */
export function replayKey(token: Pick<ReplayToken, 'tenantId' | 'paymentHash'>): string {
  return `${token.tenantId === null ? '-' : `t${JSON.stringify(token.tenantId)}`}:${token.paymentHash}`;
}

/** Milliseconds until the token no longer needs remembering (at least 1 s). */
export function replayTtlMs(token: ReplayToken, fallbackMs: number = DEFAULT_REPLAY_TTL_MS): number {
  if (token.expiresAt === null) return fallbackMs;
  return Math.max(1000, token.expiresAt.getTime() - token.now.getTime() + 1000);
}
