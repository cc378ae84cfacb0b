/** Idempotency settings. */
export interface IdempotencySettings {
  /** How long a key is kept after it is first used (default 24 h). */
  retentionMs: number;
  /** How long an in-progress lock holds before a retry may take over (default 90 s). */
  lockTimeoutMs: number;
}

/** The response an idempotent operation produced: what is stored and replayed. */
export interface IdempotentResponse {
  status: number;
  body: string;
}

/** Default idempotency settings. */
export const DEFAULT_IDEMPOTENCY: IdempotencySettings = { retentionMs: 24 * 60 * 60 * 1000, lockTimeoutMs: 90_000 };
