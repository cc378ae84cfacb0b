import { createECDH, createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Clock, SystemClock, ValidationError } from '@payable/core';

/**
 * The invoice fields {@link LndSimulator} asks its encoder to write (a subset of `@payable/lightning`'s `EncodeInvoiceInput`).
 *
 * @example
 * ```ts
 * const fields: LndSimulatorInvoiceFields = { network: 'regtest', amountMsat: 2_500_000n, timestamp, paymentHash, paymentSecret, description: 'Order #42', expiry: 900, minFinalCltvExpiry: 80 };
 * ```
 */
export interface LndSimulatorInvoiceFields {
  network: 'bitcoin' | 'testnet' | 'signet' | 'regtest';
  /** Millisatoshis, or `null` for an "any amount" invoice. */
  amountMsat: bigint | null;
  /** Seconds since the Unix epoch. */
  timestamp: number;
  paymentHash: string;
  paymentSecret: string;
  description?: string;
  descriptionHash?: string;
  expiry: number;
  minFinalCltvExpiry: number;
}

/**
 * Writes and signs a BOLT-11 invoice: pass `encodeInvoice` from `@payable/lightning` (the testing
 * kit does not depend on the Lightning package, which depends on it).
 *
 * @example
 * ```ts
 * import { encodeInvoice } from '@payable/lightning';
 * new LndSimulator({ encodeInvoice });
 * ```
 */
export type LndSimulatorEncodeInvoice = (fields: LndSimulatorInvoiceFields, privateKey: string) => string;

/**
 * A channel of the simulated node: its balances make the inbound liquidity `health()` reports.
 *
 * @example
 * ```ts
 * sim.channels = [{ active: true, localBalanceSat: 1_000_000, remoteBalanceSat: 0 }]; // no inbound liquidity
 * ```
 */
export interface LndSimChannel {
  active: boolean;
  /** What the node can send, in satoshis. */
  localBalanceSat: number;
  /** What the node can receive (inbound liquidity), in satoshis. */
  remoteBalanceSat: number;
  chanId?: string;
  remotePubkey?: string;
}

/**
 * Options of {@link LndSimulator}.
 *
 * @example
 * ```ts
 * new LndSimulator({ encodeInvoice, clock: new TestClock(), tls: { key, cert } });
 * ```
 */
export interface LndSimulatorOptions {
  /** Signs the invoices it issues; required to create invoices (see {@link LndSimulatorEncodeInvoice}). */
  encodeInvoice?: LndSimulatorEncodeInvoice;
  /** The node's time (invoice creation, expiry). Default: the system clock. */
  clock?: Clock;
  /** The macaroon the node accepts, hex. Default: random. */
  macaroon?: string;
  /** The node's secp256k1 private key, hex. Default: a fixed test key. */
  nodeKey?: string;
  /** Default `regtest` (`lnbcrt` invoices). */
  network?: LndSimulatorInvoiceFields['network'];
  /** Serve HTTPS with this key and certificate (PEM), as LND does with its `tls.cert`. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** The channels; default one active channel with 1 000 000 sats inbound. */
  channels?: LndSimChannel[];
}

/**
 * The invoice states of LND (`lnrpc.Invoice.InvoiceState`).
 *
 * @example
 * ```ts
 * sim.invoice(paymentRequest)?.state; // 'OPEN'
 * ```
 */
export type LndSimInvoiceState = 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED';

interface SimInvoice {
  hash: Buffer;
  /** The real preimage; `null` for a hold invoice until it is settled. */
  preimage: Buffer | null;
  /** The preimage the node reports once settled (a forged one when `pay` was given one). */
  reportedPreimage: Buffer | null;
  memo: string;
  valueMsat: bigint;
  creationDate: number;
  expiry: number;
  paymentRequest: string;
  descriptionHash: Buffer | null;
  paymentAddr: Buffer;
  addIndex: bigint;
  settleIndex: bigint;
  settleDate: number;
  state: LndSimInvoiceState;
  amtPaidMsat: bigint;
  hodl: boolean;
  cltvExpiry: number;
}

/**
 * One request the simulator answered: what tests assert provider calls with.
 *
 * @example
 * ```ts
 * sim.requests.filter((r: LndSimRequest) => r.path === '/v1/invoices').length; // invoices created
 * ```
 */
export interface LndSimRequest {
  method: string;
  path: string;
  /** The parsed JSON body of a POST. */
  body: unknown;
}

/**
 * Options of {@link LndSimulator.pay}.
 *
 * @example
 * ```ts
 * sim.pay(paymentRequest, { amountMsat: 999_000n }); // an underpayment within 0.1 %
 * ```
 */
export interface LndSimPayOptions {
  /** Pay this many millisatoshis (more: an overpayment; less: an underpayment). Default the invoice amount. */
  amountMsat?: bigint | number | string;
  /** Report this preimage at settlement instead of the real one (a forged settlement), hex. */
  preimage?: string;
}

class LndError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_NODE_KEY = createHash('sha256').update('payable lnd simulator node key').digest('hex');
const b64 = (bytes: Buffer | null): string => (bytes ? bytes.toString('base64') : '');
const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

function bytesField(body: Record<string, unknown>, name: string, length: number | null): Buffer | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new LndError(400, 3, `${name}: bytes must be base64`);
  const bytes = Buffer.from(value, 'base64');
  if (length !== null && bytes.length !== length) {
    throw new LndError(400, 3, `${name} must be exactly ${length} bytes`);
  }
  return bytes;
}

function uintField(body: Record<string, unknown>, name: string): bigint {
  const value = body[name];
  if (value === undefined || value === null || value === '') return 0n;
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new LndError(400, 3, `${name}: not an unsigned integer`);
  return BigInt(text);
}

/**
 * A Lightning node for tests: an HTTP(S) server speaking the LND REST endpoints Payable uses, with
 * state. It issues real BOLT-11 invoices signed with a test node key, streams invoice updates to
 * subscribers, checks the macaroon header, and lets a test play the payer (`pay`: settle,
 * overpay, underpay, or settle with a forged preimage), let invoices expire on a test clock, drain
 * the inbound liquidity, answer 503, stall, or drop the stream connections.
 *
 * Endpoints: `POST /v1/invoices`, `GET /v1/invoice/{r_hash hex}`, `GET /v1/invoices/subscribe`
 * (`add_index`, `settle_index`), `POST /v2/invoices/hodl|settle|cancel`, `GET /v1/channels`,
 * `GET /v1/getinfo`.
 *
 * @example
 * ```ts
 * import { encodeInvoice, LndProvider } from '@payable/lightning';
 * import { LndSimulator } from '@payable/testing';
 *
 * const sim = new LndSimulator({ encodeInvoice, clock });
 * const url = await sim.start();
 * const lnd = new LndProvider({ url, macaroon: sim.macaroon });
 * const payment = await payable.charge({ amount: 2500, currency: 'BTC' }, { provider: 'lnd' });
 * sim.pay(payment.lightning!.paymentRequest); // settles: the listener credits it
 * await sim.close();
 * ```
 */
export class LndSimulator {
  /** The macaroon (hex) the node accepts in `Grpc-Metadata-macaroon`. */
  readonly macaroon: string;
  /** The node's public key (33 bytes compressed, hex): the payee of its invoices. */
  readonly nodePubkey: string;
  /** The node's channels: change the balances to change the liquidity `GET /v1/channels` reports. */
  channels: LndSimChannel[];
  /** While set, every request answers this HTTP status (`true` = 503 Service Unavailable). */
  unavailable: boolean | number = false;
  /** Delay every answer this many ms (to test timeouts). */
  delayMs = 0;
  /** Every request answered, in order. */
  readonly requests: LndSimRequest[] = [];

  readonly #encode: LndSimulatorEncodeInvoice;
  readonly #clock: Clock;
  readonly #nodeKey: string;
  readonly #network: LndSimulatorInvoiceFields['network'];
  readonly #tls: LndSimulatorOptions['tls'];
  readonly #invoices = new Map<string, SimInvoice>();
  readonly #byRequest = new Map<string, SimInvoice>();
  readonly #streams = new Set<ServerResponse>();
  #server: Server | null = null;
  #url: string | null = null;
  #addIndex = 0n;
  #settleIndex = 0n;

  constructor(options: LndSimulatorOptions = {}) {
    this.#encode =
      options.encodeInvoice ??
      (() => {
        throw new ValidationError(
          "LndSimulator needs an invoice encoder: new LndSimulator({ encodeInvoice }) with encodeInvoice from '@payable/lightning'.",
          { context: { field: 'encodeInvoice', reason: 'required' } },
        );
      });
    this.#clock = options.clock ?? new SystemClock();
    this.macaroon = options.macaroon ?? randomBytes(32).toString('hex');
    this.#nodeKey = options.nodeKey ?? DEFAULT_NODE_KEY;
    this.#network = options.network ?? 'regtest';
    this.#tls = options.tls;
    this.channels = options.channels ?? [{ active: true, localBalanceSat: 500_000, remoteBalanceSat: 1_000_000 }];
    const ecdh = createECDH('secp256k1');
    ecdh.setPrivateKey(Buffer.from(this.#nodeKey, 'hex'));
    this.nodePubkey = ecdh.getPublicKey('hex', 'compressed');
  }

  /** The base URL, once started. */
  get url(): string {
    if (!this.#url) throw new Error('LndSimulator: call start() first');
    return this.#url;
  }

  /** How many invoice subscription streams are open. */
  get subscribers(): number {
    return this.#streams.size;
  }

  /** Listen on 127.0.0.1 (a free port unless given); resolves with the base URL. */
  async start(port = 0): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(req, res);
    };
    const server = this.#tls
      ? createHttpsServer({ key: this.#tls.key, cert: this.#tls.cert }, handler)
      : createHttpServer(handler);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    const address = server.address() as AddressInfo;
    this.#url = `${this.#tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
    return this.#url;
  }

  /** Close the streams and the server. */
  async close(): Promise<void> {
    for (const stream of this.#streams) stream.destroy();
    this.#streams.clear();
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cut every open subscription stream (the subscriber sees the connection drop). Returns how many. */
  dropStreams(): number {
    const count = this.#streams.size;
    for (const stream of this.#streams) stream.socket?.destroy();
    this.#streams.clear();
    return count;
  }

  /**
   * Play the payer: pay the invoice (`paymentRequest`, or its payment hash in hex). A regular
   * invoice settles (the node reveals the preimage, or `options.preimage` if given: a forged
   * settlement); a hold invoice becomes `ACCEPTED` until settled with `POST /v2/invoices/settle`.
   * Throws when the invoice is unknown, expired (then it is canceled, as LND does), or not open.
   * Returns the invoice as `GET /v1/invoice` shows it.
   */
  pay(invoice: string, options: LndSimPayOptions = {}): Record<string, unknown> {
    this.expireDue();
    const found = this.#find(invoice);
    if (!found) throw new Error(`LndSimulator: no invoice ${invoice.slice(0, 24)}…`);
    if (found.state !== 'OPEN') throw new Error(`LndSimulator: the invoice is ${found.state}, not OPEN`);
    const paid = options.amountMsat === undefined ? found.valueMsat : BigInt(options.amountMsat);
    found.amtPaidMsat = paid;
    if (found.hodl) {
      found.state = 'ACCEPTED';
    } else {
      found.state = 'SETTLED';
      found.settleIndex = ++this.#settleIndex;
      found.settleDate = this.#seconds();
      found.reportedPreimage = options.preimage ? Buffer.from(options.preimage, 'hex') : found.preimage;
    }
    this.#emit(found);
    return this.#render(found);
  }

  /** Cancel the invoice as LND's expiry watcher does (`CANCELED`), whatever the clock says. */
  expire(invoice: string): void {
    const found = this.#find(invoice);
    if (!found) throw new Error(`LndSimulator: no invoice ${invoice.slice(0, 24)}…`);
    if (found.state !== 'OPEN') return;
    found.state = 'CANCELED';
    this.#emit(found);
  }

  /** Cancel every open invoice whose expiry has passed on the clock (runs before each request). Returns how many. */
  expireDue(): number {
    const now = this.#seconds();
    let count = 0;
    for (const invoice of this.#invoices.values()) {
      if (invoice.state === 'OPEN' && now >= invoice.creationDate + invoice.expiry) {
        invoice.state = 'CANCELED';
        this.#emit(invoice);
        count++;
      }
    }
    return count;
  }

  /** Send the invoice's current state to every subscriber again (a duplicate stream message). */
  resend(invoice: string): void {
    const found = this.#find(invoice);
    if (!found) throw new Error(`LndSimulator: no invoice ${invoice.slice(0, 24)}…`);
    this.#emit(found);
  }

  /** An invoice as `GET /v1/invoice` shows it, or `undefined`. */
  invoice(invoice: string): Record<string, unknown> | undefined {
    const found = this.#find(invoice);
    return found ? this.#render(found) : undefined;
  }

  /** The real preimage of an invoice (hex), for tests that settle hold invoices or check receipts. */
  preimageOf(invoice: string): string | null {
    return this.#find(invoice)?.preimage?.toString('hex') ?? null;
  }

  #find(invoice: string): SimInvoice | undefined {
    return this.#byRequest.get(invoice) ?? this.#invoices.get(invoice.toLowerCase());
  }

  #seconds(): number {
    return Math.floor(this.#clock.now().getTime() / 1000);
  }

  #render(i: SimInvoice): Record<string, unknown> {
    const settled = i.state === 'SETTLED';
    const paid = i.state === 'SETTLED' || i.state === 'ACCEPTED' ? i.amtPaidMsat : 0n;
    return {
      memo: i.memo,
      r_preimage: b64(settled ? i.reportedPreimage : i.preimage),
      r_hash: b64(i.hash),
      value: String(i.valueMsat / 1000n),
      value_msat: String(i.valueMsat),
      settled,
      creation_date: String(i.creationDate),
      settle_date: String(settled ? i.settleDate : 0),
      payment_request: i.paymentRequest,
      description_hash: b64(i.descriptionHash),
      expiry: String(i.expiry),
      fallback_addr: '',
      cltv_expiry: String(i.cltvExpiry),
      route_hints: [],
      private: false,
      add_index: String(i.addIndex),
      settle_index: String(i.settleIndex),
      amt_paid: String(paid),
      amt_paid_sat: String(paid / 1000n),
      amt_paid_msat: String(paid),
      state: i.state,
      htlcs: [],
      features: {},
      is_keysend: false,
      payment_addr: b64(i.paymentAddr),
      is_amp: false,
    };
  }

  #emit(invoice: SimInvoice): void {
    const line = `${JSON.stringify({ result: this.#render(invoice) })}\n`;
    for (const stream of this.#streams) stream.write(line);
  }

  #addInvoice(body: Record<string, unknown>, hodl: boolean): SimInvoice {
    const valueMsat = uintField(body, 'value_msat') || uintField(body, 'value') * 1000n;
    const expiry = Number(uintField(body, 'expiry')) || 86_400;
    const memo = typeof body.memo === 'string' ? body.memo : '';
    const descriptionHash = bytesField(body, 'description_hash', 32);
    let preimage: Buffer | null;
    let hash: Buffer;
    if (hodl) {
      const given = bytesField(body, 'hash', 32);
      if (!given) throw new LndError(400, 3, 'hash must be exactly 32 bytes');
      hash = given;
      preimage = null;
    } else {
      preimage = bytesField(body, 'r_preimage', 32) ?? randomBytes(32);
      hash = sha256(preimage);
    }
    if (this.#invoices.has(hash.toString('hex'))) {
      throw new LndError(409, 6, 'invoice with payment hash already exists');
    }
    const creationDate = this.#seconds();
    const paymentAddr = randomBytes(32);
    const cltvExpiry = Number(uintField(body, 'cltv_expiry')) || 80;
    const paymentRequest = this.#encode(
      {
        network: this.#network,
        amountMsat: valueMsat > 0n ? valueMsat : null,
        timestamp: creationDate,
        paymentHash: hash.toString('hex'),
        paymentSecret: paymentAddr.toString('hex'),
        ...(descriptionHash ? { descriptionHash: descriptionHash.toString('hex') } : { description: memo }),
        expiry,
        minFinalCltvExpiry: cltvExpiry,
      },
      this.#nodeKey,
    );
    const invoice: SimInvoice = {
      hash,
      preimage,
      reportedPreimage: null,
      memo,
      valueMsat,
      creationDate,
      expiry,
      paymentRequest,
      descriptionHash,
      paymentAddr,
      addIndex: ++this.#addIndex,
      settleIndex: 0n,
      settleDate: 0,
      state: 'OPEN',
      amtPaidMsat: 0n,
      hodl,
      cltvExpiry,
    };
    this.#invoices.set(hash.toString('hex'), invoice);
    this.#byRequest.set(paymentRequest, invoice);
    this.#emit(invoice);
    return invoice;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://lnd.local');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#send(res, 400, { code: 3, message: 'invalid character in request body', details: [] });
      return;
    }
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      body: text === '' ? undefined : body,
    });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (res.destroyed) return;
    if (this.unavailable !== false) {
      const status = this.unavailable === true ? 503 : this.unavailable;
      this.#send(res, status, { code: 14, message: 'the node is unavailable', details: [] });
      return;
    }
    const macaroon = req.headers['grpc-metadata-macaroon'];
    if (macaroon === undefined) {
      this.#send(res, 500, { code: 2, message: 'expected 1 macaroon, got 0', details: [] });
      return;
    }
    if (macaroon !== this.macaroon) {
      this.#send(res, 500, {
        code: 2,
        message: 'verification failed: signature mismatch after caveat verification',
        details: [],
      });
      return;
    }
    this.expireDue();
    try {
      this.#route(req.method ?? 'GET', url, body, res);
    } catch (error) {
      if (error instanceof LndError) {
        this.#send(res, error.status, { code: error.grpcCode, message: error.message, details: [] });
      } else {
        this.#send(res, 500, { code: 2, message: String((error as Error).message), details: [] });
      }
    }
  }

  #route(method: string, url: URL, body: Record<string, unknown>, res: ServerResponse): void {
    const path = url.pathname;
    if (method === 'POST' && path === '/v1/invoices') {
      const invoice = this.#addInvoice(body, false);
      this.#send(res, 200, {
        r_hash: b64(invoice.hash),
        payment_request: invoice.paymentRequest,
        add_index: String(invoice.addIndex),
        payment_addr: b64(invoice.paymentAddr),
      });
      return;
    }
    if (method === 'GET' && path.startsWith('/v1/invoice/')) {
      const hash = decodeURIComponent(path.slice('/v1/invoice/'.length));
      if (!/^[0-9a-f]{64}$/i.test(hash)) throw new LndError(400, 3, 'encoding/hex: invalid byte');
      const invoice = this.#invoices.get(hash.toLowerCase());
      if (!invoice) throw new LndError(404, 5, 'unable to locate invoice');
      this.#send(res, 200, this.#render(invoice));
      return;
    }
    if (method === 'GET' && path === '/v1/invoices/subscribe') {
      this.#subscribe(url, res);
      return;
    }
    if (method === 'POST' && path === '/v2/invoices/hodl') {
      const invoice = this.#addInvoice(body, true);
      this.#send(res, 200, {
        payment_request: invoice.paymentRequest,
        add_index: String(invoice.addIndex),
        payment_addr: b64(invoice.paymentAddr),
      });
      return;
    }
    if (method === 'POST' && path === '/v2/invoices/settle') {
      const preimage = bytesField(body, 'preimage', 32);
      if (!preimage) throw new LndError(400, 3, 'preimage must be exactly 32 bytes');
      const invoice = this.#invoices.get(sha256(preimage).toString('hex'));
      if (!invoice) throw new LndError(404, 5, 'unable to locate invoice');
      if (invoice.state === 'SETTLED') throw new LndError(400, 9, 'invoice already settled');
      if (invoice.state === 'CANCELED') throw new LndError(400, 9, 'invoice already canceled');
      if (invoice.state !== 'ACCEPTED') throw new LndError(400, 9, 'invoice still open');
      invoice.preimage = preimage;
      invoice.reportedPreimage = preimage;
      invoice.state = 'SETTLED';
      invoice.settleIndex = ++this.#settleIndex;
      invoice.settleDate = this.#seconds();
      this.#emit(invoice);
      this.#send(res, 200, {});
      return;
    }
    if (method === 'POST' && path === '/v2/invoices/cancel') {
      const hash = bytesField(body, 'payment_hash', 32);
      if (!hash) throw new LndError(400, 3, 'payment_hash must be exactly 32 bytes');
      const invoice = this.#invoices.get(hash.toString('hex'));
      if (!invoice) throw new LndError(404, 5, 'unable to locate invoice');
      if (invoice.state === 'SETTLED') throw new LndError(400, 9, 'invoice already settled');
      if (invoice.state !== 'CANCELED') {
        invoice.state = 'CANCELED';
        this.#emit(invoice);
      }
      this.#send(res, 200, {});
      return;
    }
    if (method === 'GET' && path === '/v1/channels') {
      const activeOnly = url.searchParams.get('active_only') === 'true';
      const channels = this.channels
        .filter((c) => !activeOnly || c.active)
        .map((c, index) => ({
          active: c.active,
          remote_pubkey: c.remotePubkey ?? `02${'11'.repeat(32)}`,
          channel_point: `${'ab'.repeat(32)}:${index}`,
          chan_id: c.chanId ?? String(800_000n * 2n ** 40n + BigInt(index)),
          capacity: String(c.localBalanceSat + c.remoteBalanceSat),
          local_balance: String(c.localBalanceSat),
          remote_balance: String(c.remoteBalanceSat),
        }));
      this.#send(res, 200, { channels });
      return;
    }
    if (method === 'GET' && path === '/v1/getinfo') {
      this.#send(res, 200, {
        version: '0.18.0-beta payable-simulator',
        identity_pubkey: this.nodePubkey,
        alias: 'payable-lnd-simulator',
        num_active_channels: this.channels.filter((c) => c.active).length,
        num_peers: this.channels.length,
        block_height: 800_000,
        synced_to_chain: true,
        synced_to_graph: true,
        chains: [{ chain: 'bitcoin', network: this.#network }],
      });
      return;
    }
    throw new LndError(404, 5, 'Not Found');
  }

  #subscribe(url: URL, res: ServerResponse): void {
    const addIndex = BigInt(url.searchParams.get('add_index') || '0');
    const settleIndex = BigInt(url.searchParams.get('settle_index') || '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    // As LND: first the invoices added after add_index, then those settled after settle_index.
    const invoices = [...this.#invoices.values()];
    if (addIndex > 0n) {
      for (const i of invoices.filter((i) => i.addIndex > addIndex).sort((a, b) => Number(a.addIndex - b.addIndex))) {
        res.write(`${JSON.stringify({ result: this.#render(i) })}\n`);
      }
    }
    if (settleIndex > 0n) {
      const settled = invoices
        .filter((i) => i.state === 'SETTLED' && i.settleIndex > settleIndex)
        .sort((a, b) => Number(a.settleIndex - b.settleIndex));
      for (const i of settled) res.write(`${JSON.stringify({ result: this.#render(i) })}\n`);
    }
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
