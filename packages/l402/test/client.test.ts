import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPayableError, type Payable, type PayableError } from '@payable/core';
import type { LndSimulator } from '@payable/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fromNodeRequest,
  type L402ChallengeBody,
  L402Client,
  type L402Grant,
  L402Paywall,
  type L402PaywallOptions,
  type L402Response,
  type L402Wallet,
  LndWallet,
  writeL402Response,
} from '../src/index.js';
import { fakeLightningPayable, listen, lndPayable } from './support/app.js';
import { express, lightningKit } from './support/deps.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function caught(promise: Promise<unknown>): Promise<PayableError> {
  try {
    await promise;
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a PayableError');
}

/** An Express API behind the paywall: /a (10 sats), /b (10 sats), /c (25 sats). */
async function api(payable: Payable, options: Partial<L402PaywallOptions> = {}) {
  const paywall = new L402Paywall({
    payable,
    provider: Object.keys(payable.providers)[0] as string,
    service: 'api',
    ...options,
  });
  const app = express();
  for (const [path, price, glob] of [
    ['/a', 10, undefined],
    ['/b', 10, undefined],
    ['/c', 25, undefined],
    ['/tier/basic', 10, '/tier/*'],
    ['/tier/plus', 10, '/tier/*'],
    ['/tier/pro', 25, '/tier/*'],
  ] as const) {
    app.get(
      path,
      paywall.express({ price, ...(glob ? { path: glob } : {}) }),
      (req: { l402?: L402Grant | null }, res: { json(b: unknown): void }) =>
        res.json({ path, receipt: req.l402?.paymentHash }),
    );
  }
  const server = await listen(app);
  closers.push(() => server.close());
  return server.url;
}

/** A wallet that counts its payments. */
function counting(wallet: L402Wallet) {
  const paid: string[] = [];
  return {
    paid,
    wallet: {
      async payInvoice(invoice: string) {
        paid.push(invoice);
        return wallet.payInvoice(invoice);
      },
    } satisfies L402Wallet,
  };
}

async function fakeApi(options: Partial<L402PaywallOptions> = {}) {
  const env = await fakeLightningPayable();
  closers.push(() => env.payable.close());
  return { ...env, url: await api(env.payable, options) };
}

describe('L402Client', () => {
  it('fetch – pays once, retries with the credential, and reuses the token per endpoint', async () => {
    const { url, fake } = await fakeApi();
    const { wallet, paid } = counting(fake);
    const client = new L402Client({ wallet });
    const first = await client.fetch(`${url}/a`);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { receipt: string };
    expect(paid).toHaveLength(1);
    expect(client.tokenFor(`${url}/a?page=2`)).toMatchObject({
      scheme: 'L402',
      amountSats: 10,
      paymentHash: body.receipt,
    });
    expect((await client.fetch(`${url}/a?page=2`)).status).toBe(200);
    expect(paid).toHaveLength(1);
    expect(fake.calls.filter((c) => c.op === 'charge')).toHaveLength(1); // no second challenge
    expect((await client.fetch(`${url}/b`)).status).toBe(200); // another endpoint: its own token
    expect(paid).toHaveLength(2);
    expect(client.spentSats).toBe(20);
  });

  it('fetch – a token bound to a path glob opens the other paths it covers; one refused there is kept', async () => {
    const { url, fake } = await fakeApi();
    const { wallet, paid } = counting(fake);
    const client = new L402Client({ wallet });
    expect((await client.fetch(`${url}/tier/basic`)).status).toBe(200);
    expect((await client.fetch(`${url}/tier/plus`)).status).toBe(200); // same price, covered by /tier/*
    expect(paid).toHaveLength(1);
    expect(client.tokenFor(`${url}/tier/plus`)).toBe(client.tokenFor(`${url}/tier/basic`));
    // /tier/pro costs 25: the borrowed token is refused (L402_AMOUNT_MISMATCH), the client pays there.
    expect((await client.fetch(`${url}/tier/pro`)).status).toBe(200);
    expect(paid).toHaveLength(2);
    expect(client.tokenFor(`${url}/tier/pro`)?.amountSats).toBe(25);
    expect(client.tokenFor(`${url}/tier/basic`)?.amountSats).toBe(10);
    expect((await client.fetch(`${url}/tier/basic`)).status).toBe(200);
    expect(paid).toHaveLength(2);
  });

  it('fetch – concurrent requests to one endpoint share a single payment', async () => {
    const { url, fake } = await fakeApi({ rateLimit: false });
    const { wallet, paid } = counting(fake);
    const client = new L402Client({ wallet });
    const responses = await Promise.all(Array.from({ length: 5 }, () => client.fetch(`${url}/a`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(paid).toHaveLength(1);
  });

  it('budget – a payment past budgetSats is refused (PAYMENT_REQUIRED, budget_exceeded) and nothing is paid', async () => {
    const { url, fake } = await fakeApi();
    const { wallet, paid } = counting(fake);
    const client = new L402Client({ wallet, budgetSats: 30 });
    expect((await client.fetch(`${url}/a`)).status).toBe(200);
    const error = await caught(client.fetch(`${url}/c`));
    expect(error.code).toBe('PAYMENT_REQUIRED');
    expect(error.context).toEqual({ reason: 'budget_exceeded', amountSats: 25, budgetSats: 30, spentSats: 10 });
    expect(paid).toHaveLength(1);
    expect(client.remainingSats).toBe(20);
    expect((await client.fetch(`${url}/b`)).status).toBe(200);
    expect(client.remainingSats).toBe(10);
  });

  it('stale tokens – after L402_TOKEN_USED (single-use) or L402_TOKEN_EXPIRED the client pays again', async () => {
    const { url, fake, clock } = await fakeApi({ replay: 'single-use', tokenTtl: 60 });
    const { wallet, paid } = counting(fake);
    const client = new L402Client({ wallet });
    expect((await client.fetch(`${url}/a`)).status).toBe(200);
    expect((await client.fetch(`${url}/a`)).status).toBe(200);
    expect(paid).toHaveLength(2);
    clock.advance({ seconds: 61 });
    expect((await client.fetch(`${url}/a`)).status).toBe(200);
    expect(paid).toHaveLength(3);
  });

  it('wallets – a base64 preimage is converted; a preimage for another hash is PROVIDER_ERROR and not cached', async () => {
    const { url, fake } = await fakeApi();
    const b64 = new L402Client({
      wallet: {
        async payInvoice(invoice) {
          const { preimage } = fake.pay(invoice);
          return { preimage: Buffer.from(preimage, 'hex').toString('base64') };
        },
      },
    });
    expect((await b64.fetch(`${url}/a`)).status).toBe(200);
    const liar = new L402Client({ wallet: { payInvoice: async () => ({ preimage: '00'.repeat(32) }) } });
    const error = await caught(liar.fetch(`${url}/a`));
    expect([error.code, error.context.reason]).toEqual(['PROVIDER_ERROR', 'preimage_mismatch']);
    expect(liar.tokenFor(`${url}/a`)).toBeUndefined();
    const broken = new L402Client({
      wallet: {
        payInvoice: async () => {
          throw new Error('no route');
        },
      },
      budgetSats: 100,
    });
    expect((await caught(broken.fetch(`${url}/a`))).context.reason).toBe('wallet_failed');
    expect(broken.spentSats).toBe(0);
  });
});

describe('L402Client against servers whose challenge does not add up', () => {
  /** A server answering with the paywall's challenge, rewritten by `tamper` before it is sent. */
  async function tamperedServer(tamper: (response: L402Response) => void) {
    const env = await fakeLightningPayable();
    closers.push(() => env.payable.close());
    const paywall = new L402Paywall({ payable: env.payable, provider: 'fake', service: 'api' });
    const other = new L402Paywall({ payable: env.payable, provider: 'fake', service: 'api' });
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const neutral = fromNodeRequest(req);
      void paywall.verify(neutral, { price: 10 }).then(async (result) => {
        if (result.ok) {
          res.end('{"ok":true}');
          return;
        }
        if (result.response.status === 402 && req.url === '/swapped') {
          // The invoice of another challenge: a different payment hash for the same amount.
          const foreign = (await other.challenge(neutral, { price: 10 })).body as L402ChallengeBody;
          const body = result.response.body as L402ChallengeBody;
          body.l402.invoice = foreign.l402.invoice;
          result.response.headers['www-authenticate'] = [
            `L402 macaroon="${body.l402.macaroon}", invoice="${foreign.l402.invoice}"`,
          ];
        }
        if (result.response.status === 402) tamper(result.response);
        writeL402Response(res, result.response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fake: env.fake };
  }

  it('amount – an invoice that differs from the challenge amountSats is refused before paying', async () => {
    const { url, fake } = await tamperedServer((response) => {
      (response.body as L402ChallengeBody).l402.amountSats = 1;
    });
    const { wallet, paid } = counting(fake);
    const error = await caught(new L402Client({ wallet }).fetch(`${url}/x`));
    expect(error.code).toBe('PAYMENT_REQUIRED');
    expect(error.context).toMatchObject({ reason: 'amount_mismatch', invoiceSats: 10, challengeSats: 1 });
    expect(paid).toHaveLength(0);
  });

  it('payment hash – with decodeInvoice, an invoice for another payment hash is refused', async () => {
    const { url, fake } = await tamperedServer(() => undefined);
    const { decodeInvoice } = await lightningKit();
    const { wallet, paid } = counting(fake);
    const error = await caught(new L402Client({ wallet, decodeInvoice }).fetch(`${url}/swapped`));
    expect(error.context.reason).toBe('payment_hash_mismatch');
    expect(paid).toHaveLength(0);
  });

  it('challenge forms – an LSAT-only challenge with token= is paid and answered with the LSAT scheme', async () => {
    const { url, fake } = await tamperedServer((response) => {
      const { macaroon, invoice } = (response.body as L402ChallengeBody).l402;
      response.headers['www-authenticate'] = [`LSAT token="${macaroon}", invoice="${invoice}"`];
      response.body = { error: 'PAYMENT_REQUIRED', message: 'pay', context: {} };
    });
    const client = new L402Client({ wallet: fake });
    const res = await client.fetch(`${url}/x`);
    expect(res.status).toBe(200);
    expect(client.tokenFor(`${url}/x`)?.scheme).toBe('LSAT');
  });
});

describe('LndWallet', () => {
  /**
   * The payer's LND node: LND's `POST /v1/channels/transactions` (SendPaymentSync), routing the
   * payment to the simulated receiving node.
   */
  async function payerNode(receiver: LndSimulator, macaroon: string) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.headers['grpc-metadata-macaroon'] !== macaroon) {
          send(500, { code: 2, message: 'verification failed: signature mismatch after caveat verification' });
          return;
        }
        if (req.method !== 'POST' || req.url !== '/v1/channels/transactions') {
          send(404, { code: 5, message: 'Not Found' });
          return;
        }
        const { payment_request: invoice } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          payment_request: string;
        };
        try {
          receiver.pay(invoice);
          const preimage = Buffer.from(receiver.preimageOf(invoice) as string, 'hex').toString('base64');
          send(200, { payment_error: '', payment_preimage: preimage, payment_hash: '' });
        } catch {
          send(200, { payment_error: 'unable to find a path to destination', payment_preimage: '' });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('pays through LND REST (base64 preimage → hex): the client opens an LND-backed paywall', async () => {
    const { sim, payable } = await lndPayable();
    closers.push(async () => {
      await payable.close();
      await sim.close();
    });
    const url = await api(payable);
    const macaroon = 'ab'.repeat(40);
    const wallet = new LndWallet({ url: await payerNode(sim, macaroon), macaroon });
    const client = new L402Client({ wallet, budgetSats: 100 });
    const res = await client.fetch(`${url}/a`);
    expect(res.status).toBe(200);
    expect(client.spentSats).toBe(10);
    const error = await caught(wallet.payInvoice('lnbcrt1unknown'));
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', context: { reason: 'payment_failed' } });
    expect(error.message).toMatch(/unable to find a path/);
    const wrongMacaroon = new LndWallet({ url: await payerNode(sim, macaroon), macaroon: 'cd'.repeat(40) });
    expect((await caught(wrongMacaroon.payInvoice('lnbcrt1x'))).code).toBe('PROVIDER_UNAVAILABLE');
    const unreachable = new LndWallet({ url: 'http://127.0.0.1:1', macaroon });
    expect((await caught(unreachable.payInvoice('lnbcrt1x'))).code).toBe('PROVIDER_UNAVAILABLE');
  });
});
