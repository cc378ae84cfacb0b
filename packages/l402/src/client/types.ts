/**
 * What a wallet gives back after paying: the preimage, 64 hex characters (base64 of 32 bytes is
 * accepted too and converted).
 *
 * @example
 * ```ts
 * const { preimage } = await wallet.payInvoice('lnbc100n1p...');
 * ```
 */
export interface L402PaymentResult {
  preimage: string;
}

/**
 * A Lightning wallet the client pays with: `LndWallet` (LND's REST API), a `FakeProvider` from
 * `@payable/testing` in tests, or your own.
 *
 * @example
 * ```ts
 * const wallet: L402Wallet = { payInvoice: async (invoice) => ({ preimage: await myNode.pay(invoice) }) };
 * ```
 */
export interface L402Wallet {
  payInvoice(invoice: string): Promise<L402PaymentResult>;
}

/**
 * What the client reads from a decoded invoice when it is given a decoder (e.g. `decodeInvoice`
 * from `@payable/lightning`, which also checks the invoice's signature).
 *
 * @example
 * ```ts
 * import { decodeInvoice } from '@payable/lightning';
 * new L402Client({ wallet, decodeInvoice });
 * ```
 */
export interface L402DecodedInvoice {
  readonly amountMsat: bigint | null;
  readonly paymentHash: string;
}

/** A `fetch`: the global one by default. */
export type L402Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Options of `new L402Client(...)`.
 *
 * @example
 * ```ts
 * new L402Client({ wallet: new LndWallet({ url, macaroon }), budgetSats: 1000 });
 * ```
 */
export interface L402ClientOptions {
  wallet: L402Wallet;
  /** The most this client pays in total, in sats; a payment past it is refused. Default: no limit. */
  budgetSats?: number;
  /** Default: the global `fetch`. */
  fetch?: L402Fetch;
  /**
   * Decodes (and verifies) invoices: with it the client also refuses an invoice whose payment hash
   * is not the token's. Without it, the amount is read from the invoice's human-readable part.
   */
  decodeInvoice?: (invoice: string) => L402DecodedInvoice;
}

/**
 * A token the client holds for one endpoint (origin + path).
 *
 * @example
 * ```ts
 * client.tokenFor('https://api.example.com/report')?.amountSats; // 10
 * ```
 */
export interface L402CachedToken {
  readonly scheme: 'L402' | 'LSAT';
  /** The macaroon as the server sent it (base64). */
  readonly macaroon: string;
  /** 64 lowercase hex characters. */
  readonly preimage: string;
  readonly amountSats: number;
  readonly paymentHash: string;
}
