import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeInvoice, type InvoiceNetwork } from '@payable/lightning';

/**
 * Shared plumbing of the hosted-provider simulators (test code, not published): a real HTTP server
 * on 127.0.0.1, the request log, failure injection, webhook posting and BOLT-11 issuing with a
 * test node key.
 */

/** The node key the simulators sign their BOLT-11 invoices with (BOLT 11's example key). */
export const SIM_NODE_KEY = 'e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734';

/** A request the simulator received. */
export interface SimRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A canned answer for the next matching request(s). */
export interface SimFailure {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many requests it answers. Default 1. */
  times?: number;
  /** Only requests of this method. */
  method?: string;
  /** Only requests whose path contains this. */
  path?: string;
}

/** A signed webhook delivery, as the service sends it (lower-case header names). */
export interface SimDelivery {
  rawBody: string;
  headers: Record<string, string>;
}

/** What happened when a simulator posted a delivery. */
export interface SimDeliveryResult extends SimDelivery {
  url: string;
  status: number;
  response: string;
}

/** The answer of a route. */
export interface SimAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A route: returns an answer, or `null` when it does not match. */
export type SimRoute = (req: SimRequest, url: URL) => SimAnswer | null | Promise<SimAnswer | null>;

/** An HTTP server with a request log and failure injection around one route function. */
export class SimServer {
  readonly requests: SimRequest[] = [];
  readonly #failures: SimFailure[] = [];
  #server: Server | null = null;
  #url = '';

  constructor(private readonly route: SimRoute) {}

  /** The base URL, e.g. `http://127.0.0.1:51234`. */
  get url(): string {
    return this.#url;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: String(error) }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Answers the next matching request(s) with `failure` instead of the route. */
  failNext(failure: SimFailure): void {
    this.#failures.push({ times: 1, ...failure });
  }

  /** Requests received for a path (containing `part`) and method. */
  requestsTo(part: string, method?: string): SimRequest[] {
    return this.requests.filter((r) => r.path.includes(part) && (method === undefined || r.method === method));
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://sim');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const request: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(request);
    const failure = this.#failures.find(
      (f) =>
        (f.method === undefined || f.method === request.method) &&
        (f.path === undefined || request.path.includes(f.path)),
    );
    let answer: SimAnswer | null;
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.#failures.splice(this.#failures.indexOf(failure), 1);
      answer = { status: failure.status, body: failure.body, ...(failure.headers ? { headers: failure.headers } : {}) };
    } else {
      answer = await this.route(request, url);
    }
    answer ??= { status: 404, body: { message: 'Not found' } };
    const text =
      answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...(answer.headers ?? {}),
    });
    res.end(text);
  }
}

/** Posts a delivery to `url` and reports the answer. */
export async function postDelivery(url: string, delivery: SimDelivery): Promise<SimDeliveryResult> {
  const res = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.rawBody });
  return { ...delivery, url, status: res.status, response: await res.text() };
}

/** A fresh Lightning invoice signed with {@link SIM_NODE_KEY}, with its preimage. */
export function issueInvoice(options: {
  network: InvoiceNetwork;
  amountMsat: bigint;
  description: string;
  expirySeconds: number;
  now: Date;
}): { paymentRequest: string; paymentHash: string; preimage: string } {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  const paymentRequest = encodeInvoice(
    {
      network: options.network,
      amountMsat: options.amountMsat,
      timestamp: Math.floor(options.now.getTime() / 1000),
      paymentHash,
      paymentSecret: randomBytes(32).toString('hex'),
      description: options.description.slice(0, 600),
      expiry: options.expirySeconds,
    },
    SIM_NODE_KEY,
  );
  return { paymentRequest, paymentHash, preimage: preimage.toString('hex') };
}

/** `value` (a plain decimal) × 10^places as a bigint, rounded up; `null` when it is not a decimal. */
export function scaleUp(value: string, places: number): bigint | null {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return null;
  const fraction = match[2] ?? '';
  const kept = fraction.slice(0, places).padEnd(places, '0');
  let result = BigInt((match[1] as string) + kept);
  if (/[1-9]/.test(fraction.slice(places))) result += 1n;
  return result;
}

/** Millisatoshis for a fiat decimal at `rate` (major units per BTC), rounded up to whole sats. */
export function fiatToMsat(amount: string, rate: string): bigint {
  const a = scaleUp(amount, 8);
  const r = scaleUp(rate, 8);
  if (a === null || r === null || r === 0n) throw new Error(`bad amount ${amount} or rate ${rate}`);
  const sats = (a * 100_000_000n + r - 1n) / r;
  return sats * 1000n;
}

/** A BTC decimal of `msat`: 8 places when whole sats, 11 otherwise. */
export function msatToBtc(msat: bigint): string {
  const places = msat % 1000n === 0n ? 8 : 11;
  const units = places === 8 ? msat / 1000n : msat;
  const digits = units.toString().padStart(places + 1, '0');
  return `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** A random id in BTCPay's style (base58, 22 characters). */
export function base58Id(length = 22): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}
