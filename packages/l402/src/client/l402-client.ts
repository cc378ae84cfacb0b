import { createHash } from 'node:crypto';
import { isPayableError, PaymentRequiredError, ProviderError, ValidationError } from '@payable/core';
import { decodeBase64Strict } from '../macaroon/base64.js';
import { CONDITION_AMOUNT, CONDITION_PATH, pathMatches } from '../token/caveats.js';
import { type L402Challenge, parseChallenge } from '../token/credentials.js';
import { invoiceAmountMsat } from './bolt11-amount.js';
import type { L402CachedToken, L402ClientOptions, L402DecodedInvoice, L402Fetch, L402Wallet } from './types.js';

/** Codes a server answers when a token it once accepted no longer opens the endpoint: pay again. */
const STALE_TOKEN_CODES = new Set([
  'L402_TOKEN_EXPIRED',
  'L402_TOKEN_USED',
  'L402_INVALID_TOKEN',
  'L402_AMOUNT_MISMATCH',
]);
const HEX64 = /^[0-9a-f]{64}$/i;

/** The cache key of a URL: origin and path, no query or fragment. */
function endpointKey(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

function refuse(reason: string, message: string, context: Record<string, unknown> = {}): never {
  throw new PaymentRequiredError(message, { context: { reason, ...context } });
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to free.
  }
}

/** The payment hash inside an L402 token (bytes 2..34 of a version-0 identifier), hex. */
function tokenPaymentHash(challenge: L402Challenge): string | null {
  const id = challenge.macaroon.identifier;
  if (id.length !== 66 || id[0] !== 0 || id[1] !== 0) return null;
  return Buffer.from(id.subarray(2, 34)).toString('hex');
}

/** The values of a token's first-party caveats of one condition, in order. */
function caveatValues(challenge: L402Challenge, condition: string): string[] {
  const values: string[] = [];
  for (const caveat of challenge.macaroon.caveats) {
    if (caveat.thirdParty) continue;
    const text = Buffer.from(caveat.identifier).toString('utf8');
    if (text.startsWith(`${condition}=`)) values.push(text.slice(condition.length + 1));
  }
  return values;
}

/** The price a token states in its `payable_amount_sats` caveat, if any. */
function tokenAmountSats(challenge: L402Challenge): number | null {
  for (const text of caveatValues(challenge, CONDITION_AMOUNT)) {
    const value = Number(text);
    if (Number.isSafeInteger(value)) return value;
  }
  return null;
}

/** The `amountSats` (or Lightning Enable's `amount_sats`) of a 402 body's `l402` object. */
async function challengeAmountSats(res: Response): Promise<number | null> {
  try {
    const body: unknown = await res.clone().json();
    const l402 = (body as { l402?: { amountSats?: unknown; amount_sats?: unknown } } | null)?.l402;
    const value = l402?.amountSats ?? l402?.amount_sats;
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** A wallet's preimage as 64 lowercase hex characters (base64 of 32 bytes is converted), or null. */
function normalizePreimage(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (HEX64.test(text)) return text.toLowerCase();
  const bytes = decodeBase64Strict(text);
  return bytes !== null && bytes.length === 32 ? Buffer.from(bytes).toString('hex') : null;
}

/**
 * An HTTP client for L402-protected APIs: `client.fetch(url, init)` works like `fetch`; on a 402
 * with an L402 challenge (`L402` or `LSAT` scheme, `macaroon=` or `token=`) it checks the invoice,
 * pays it with the wallet, and retries the request once with `Authorization: L402
 * <macaroon>:<preimage>`. Tokens are cached per endpoint (origin + path) and reused until the
 * server stops accepting them (`L402_TOKEN_EXPIRED`, `L402_TOKEN_USED`, `L402_INVALID_TOKEN`,
 * `L402_AMOUNT_MISMATCH`, or a new 402), so a page reload never pays twice. A token whose
 * `payable_path` glob covers another path of the same origin (`/api/report/*`) is tried there
 * before paying again. Concurrent requests to one endpoint share one payment.
 *
 * It refuses to pay (throwing `PaymentRequiredError` with `context.reason`) an invoice without an
 * amount (`no_amount`), one whose amount differs from the challenge's `amountSats` or from the
 * token's price caveat (`amount_mismatch`), one whose payment hash is not the token's when a
 * decoder is given (`payment_hash_mismatch`), or one that would take the total past `budgetSats`
 * (`budget_exceeded`). A wallet failure is a `ProviderError` (`wallet_failed`), and so is a
 * preimage that does not hash to the token's payment hash (`preimage_mismatch`).
 *
 * @example
 * ```ts
 * const client = new L402Client({ wallet: new LndWallet({ url, macaroon }), budgetSats: 500 });
 * const res = await client.fetch('https://api.example.com/report');
 * logger.info({ status: res.status, spent: client.spentSats });
 * ```
 */
export class L402Client {
  readonly #wallet: L402Wallet;
  readonly #budget: number | null;
  readonly #fetch: L402Fetch;
  readonly #decode: ((invoice: string) => L402DecodedInvoice) | null;
  readonly #tokens = new Map<string, L402CachedToken>();
  /** The `payable_path` globs of each cached token (a token bound to `/api/report/*` opens every report). */
  readonly #paths = new WeakMap<L402CachedToken, readonly string[]>();
  readonly #paying = new Map<string, Promise<L402CachedToken>>();
  #spent = 0;

  constructor(options: L402ClientOptions) {
    if (typeof options?.wallet?.payInvoice !== 'function') {
      throw new ValidationError('L402Client needs a wallet with payInvoice(invoice)', {
        context: { field: 'wallet', reason: 'required' },
      });
    }
    const budget = options.budgetSats;
    if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < 0)) {
      throw new ValidationError('budgetSats must be a non-negative integer', {
        context: { field: 'budgetSats', reason: 'invalid' },
      });
    }
    this.#wallet = options.wallet;
    this.#budget = budget ?? null;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#decode = options.decodeInvoice ?? null;
  }

  /** Sats paid so far (including payments in flight). */
  get spentSats(): number {
    return this.#spent;
  }

  /** What is left of the budget (`null`: no budget). */
  get remainingSats(): number | null {
    return this.#budget === null ? null : this.#budget - this.#spent;
  }

  /**
   * The token cached for the endpoint of `url` (origin + path), if any.
   *
   * @example
   * ```ts
   * client.tokenFor('https://api.example.com/report?x=1'); // the token of https://api.example.com/report
   * ```
   */
  tokenFor(url: string | URL): L402CachedToken | undefined {
    return this.#tokens.get(endpointKey(String(url)));
  }

  /**
   * Drops the cached token of one endpoint, or every token.
   *
   * @example
   * ```ts
   * client.forget('https://api.example.com/report');
   * ```
   */
  forget(url?: string | URL): void {
    if (url === undefined) this.#tokens.clear();
    else this.#tokens.delete(endpointKey(String(url)));
  }

  /**
   * `fetch`, paying L402 challenges. The request is sent again after a payment, so its body must be
   * re-sendable (a string, bytes, `URLSearchParams`, `FormData`; not a one-shot stream).
   *
   * @example
   * ```ts
   * const res = await client.fetch('https://api.example.com/report', { headers: { accept: 'application/json' } });
   * ```
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = String(input);
    const key = endpointKey(url);
    const exact = this.#tokens.get(key);
    let sent = exact ?? this.#covering(url);
    let res = await this.#send(url, init, sent);
    const code = res.headers.get('x-l402-error') ?? '';
    if (sent !== undefined && (res.status === 401 || res.status === 403) && code !== '') {
      // A token of this endpoint the server stopped accepting is dropped; a token borrowed from
      // another endpoint (its path glob covers this one) is just not used here.
      if (sent === exact && !STALE_TOKEN_CODES.has(code)) return res;
      if (sent === exact && this.#tokens.get(key) === exact) this.#tokens.delete(key);
      await discard(res);
      sent = this.#tokens.get(key);
      res = await this.#send(url, init, sent);
    } else if (sent !== undefined && sent !== exact && res.status !== 402) {
      this.#tokens.set(key, sent);
    }
    if (res.status !== 402) return res;
    const challenge = parseChallenge(res.headers);
    if (challenge === null) return res;
    const fresher = this.#tokens.get(key);
    if (fresher !== undefined && fresher !== sent) {
      // Another request paid for this endpoint meanwhile: use its token instead of paying again.
      await discard(res);
      return this.#send(url, init, fresher);
    }
    if (sent !== undefined && this.#tokens.get(key) === sent) this.#tokens.delete(key);
    const token = await this.#payOnce(key, challenge, res);
    await discard(res);
    return this.#send(url, init, token);
  }

  /** A cached token of the same origin whose path caveats all match the path of `url`. */
  #covering(url: string): L402CachedToken | undefined {
    const { origin, pathname } = new URL(url);
    for (const [key, token] of this.#tokens) {
      if (!key.startsWith(`${origin}/`)) continue;
      const globs = this.#paths.get(token) ?? [];
      if (globs.length > 0 && globs.every((glob) => pathMatches(glob, pathname))) return token;
    }
    return undefined;
  }

  #send(url: string, init: RequestInit, token: L402CachedToken | undefined): Promise<Response> {
    if (token === undefined) return this.#fetch(url, init);
    const headers = new Headers(init.headers);
    headers.set('authorization', `${token.scheme} ${token.macaroon}:${token.preimage}`);
    return this.#fetch(url, { ...init, headers });
  }

  /** Pays one challenge per endpoint at a time: concurrent requests wait for the same token. */
  async #payOnce(key: string, challenge: L402Challenge, res: Response): Promise<L402CachedToken> {
    const inFlight = this.#paying.get(key);
    if (inFlight !== undefined) return inFlight;
    const paying = this.#pay(challenge, res);
    this.#paying.set(key, paying);
    try {
      const token = await paying;
      this.#tokens.set(key, token);
      return token;
    } finally {
      this.#paying.delete(key);
    }
  }

  async #pay(challenge: L402Challenge, res: Response): Promise<L402CachedToken> {
    const { invoice } = challenge;
    const amountMsat = invoiceAmountMsat(invoice);
    if (amountMsat === undefined) refuse('invalid_invoice', 'The L402 challenge carries no valid BOLT-11 invoice');
    if (amountMsat === null) {
      refuse('no_amount', 'Refusing to pay an L402 invoice that names no amount');
    }
    const paymentHash = tokenPaymentHash(challenge);
    if (paymentHash === null) refuse('invalid_token', 'The L402 challenge token is not an L402 token');
    if (this.#decode !== null) {
      let decoded: L402DecodedInvoice;
      try {
        decoded = this.#decode(invoice);
      } catch (error) {
        if (isPayableError(error)) throw error;
        return refuse('invalid_invoice', 'The L402 invoice does not decode');
      }
      if (decoded.amountMsat !== amountMsat) {
        refuse('amount_mismatch', 'The L402 invoice amount does not match its human-readable part');
      }
      if (decoded.paymentHash.toLowerCase() !== paymentHash) {
        refuse(
          'payment_hash_mismatch',
          "The L402 invoice's payment hash is not the token's: paying it would not open the token",
        );
      }
    }
    const invoiceSats = Number(amountMsat / 1000n) + (amountMsat % 1000n === 0n ? 0 : 1);
    const stated = await challengeAmountSats(res);
    if (stated !== null && BigInt(stated) * 1000n !== amountMsat) {
      refuse('amount_mismatch', `The L402 invoice asks ${invoiceSats} sats but the challenge states ${stated} sats`, {
        invoiceSats,
        challengeSats: stated,
      });
    }
    const caveatSats = tokenAmountSats(challenge);
    if (caveatSats !== null && BigInt(caveatSats) * 1000n !== amountMsat) {
      refuse(
        'amount_mismatch',
        `The L402 invoice asks ${invoiceSats} sats but the token was priced at ${caveatSats} sats`,
        {
          invoiceSats,
          tokenSats: caveatSats,
        },
      );
    }
    if (this.#budget !== null && this.#spent + invoiceSats > this.#budget) {
      refuse('budget_exceeded', `Paying ${invoiceSats} sats would exceed the budget of ${this.#budget} sats`, {
        amountSats: invoiceSats,
        budgetSats: this.#budget,
        spentSats: this.#spent,
      });
    }
    // Reserve the amount first, so concurrent payments to other endpoints respect the budget.
    this.#spent += invoiceSats;
    let raw: unknown;
    try {
      raw = (await this.#wallet.payInvoice(invoice))?.preimage;
    } catch (error) {
      this.#spent -= invoiceSats;
      if (isPayableError(error)) throw error;
      throw new ProviderError('The wallet could not pay the L402 invoice', {
        cause: error,
        context: { reason: 'wallet_failed', amountSats: invoiceSats },
      });
    }
    const preimage = normalizePreimage(raw);
    if (preimage === null || createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') !== paymentHash) {
      throw new ProviderError("The wallet's preimage does not match the invoice's payment hash", {
        context: { reason: 'preimage_mismatch' },
      });
    }
    const token: L402CachedToken = {
      scheme: challenge.scheme,
      macaroon: challenge.token,
      preimage,
      amountSats: invoiceSats,
      paymentHash,
    };
    this.#paths.set(token, caveatValues(challenge, CONDITION_PATH));
    return token;
  }
}
