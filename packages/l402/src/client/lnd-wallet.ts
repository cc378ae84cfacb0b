import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type PayableError, ProviderError, ProviderUnavailableError, ValidationError } from '@payable/core';
import type { L402PaymentResult, L402Wallet } from './types.js';

/**
 * Options of {@link LndWallet}.
 *
 * @example
 * ```ts
 * new LndWallet({ url: 'https://127.0.0.1:8080', macaroon: adminMacaroonHex, tlsCert: readFileSync('tls.cert') });
 * ```
 */
export interface LndWalletOptions {
  /** LND's REST address, e.g. `https://127.0.0.1:8080`. */
  url: string;
  /** A macaroon allowed to send payments, hex (`xxd -p -c 10000 admin.macaroon`). */
  macaroon: string;
  /** LND's `tls.cert` (PEM), trusted instead of the public roots. */
  tlsCert?: string | Buffer;
  /** The most routing fee to pay, in sats. Default: LND's default. */
  feeLimitSats?: number;
  /** How long a payment may take, in ms. Default 60 000. */
  timeoutMs?: number;
}

interface LndSendResponse {
  payment_error?: string;
  payment_preimage?: string;
}

/**
 * A wallet on an LND node over its REST API: `POST /v1/channels/transactions` with the invoice
 * (LND's synchronous `SendPaymentSync`); the preimage LND returns in base64 is given back as hex. A
 * payment LND refuses is a `ProviderError` with LND's `payment_error`; a node that cannot be
 * reached, a 5xx or a timeout is `ProviderUnavailableError`.
 *
 * @example
 * ```ts
 * const wallet = new LndWallet({ url: process.env.LND_URL!, macaroon: process.env.LND_MACAROON! });
 * const client = new L402Client({ wallet, budgetSats: 1000 });
 * ```
 */
export class LndWallet implements L402Wallet {
  readonly #url: URL;
  readonly #macaroon: string;
  readonly #tlsCert: string | Buffer | undefined;
  readonly #feeLimitSats: number | undefined;
  readonly #timeoutMs: number;

  constructor(options: LndWalletOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ValidationError('LndWallet: url must be an absolute http(s) URL', {
        context: { field: 'url', reason: 'invalid' },
      });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ValidationError('LndWallet: url must be http(s)', { context: { field: 'url', reason: 'invalid' } });
    }
    if (typeof options.macaroon !== 'string' || !/^[0-9a-fA-F]+$/.test(options.macaroon)) {
      throw new ValidationError('LndWallet: macaroon must be hex', {
        context: { field: 'macaroon', reason: 'invalid' },
      });
    }
    this.#url = url;
    this.#macaroon = options.macaroon;
    this.#tlsCert = options.tlsCert;
    this.#feeLimitSats = options.feeLimitSats;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  async payInvoice(invoice: string): Promise<L402PaymentResult> {
    const body: Record<string, unknown> = { payment_request: invoice };
    if (this.#feeLimitSats !== undefined) body.fee_limit = { fixed: String(this.#feeLimitSats) };
    const { status, text } = await this.#post('/v1/channels/transactions', JSON.stringify(body));
    let parsed: LndSendResponse & { message?: string };
    try {
      parsed = JSON.parse(text) as LndSendResponse & { message?: string };
    } catch {
      throw new ProviderError('LND answered something that is not JSON', { context: { provider: 'lnd', status } });
    }
    if (status >= 500 && !parsed.payment_error) {
      throw new ProviderUnavailableError(`LND could not pay: ${parsed.message ?? `HTTP ${status}`}`, {
        context: { provider: 'lnd', status },
      });
    }
    if (status >= 400 || (parsed.payment_error ?? '') !== '') {
      throw new ProviderError(
        `LND refused the payment: ${parsed.payment_error || parsed.message || `HTTP ${status}`}`,
        {
          context: { provider: 'lnd', status, reason: 'payment_failed' },
        },
      );
    }
    const preimage = Buffer.from(parsed.payment_preimage ?? '', 'base64');
    if (preimage.length !== 32) {
      throw new ProviderError('LND reported a payment without a 32-byte preimage', {
        context: { provider: 'lnd', reason: 'no_preimage' },
      });
    }
    return { preimage: preimage.toString('hex') };
  }

  #post(path: string, body: string): Promise<{ status: number; text: string }> {
    const target = new URL(path, this.#url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'grpc-metadata-macaroon': this.#macaroon,
          },
          ...(this.#tlsCert === undefined ? {} : { ca: this.#tlsCert }),
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (error) => reject(unavailable(error)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`LND did not answer within ${this.#timeoutMs} ms`)));
      req.on('error', (error) => reject(unavailable(error)));
      req.end(body);
    });
  }
}

function unavailable(cause: unknown): PayableError {
  return new ProviderUnavailableError('The LND node could not be reached', { cause, context: { provider: 'lnd' } });
}
