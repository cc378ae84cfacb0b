import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from '@payable/l402';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, type PaywallApp, type PaywallAppOptions } from '../src/app.js';
import { runClient } from '../src/client.js';

const dir = mkdtempSync(join(tmpdir(), 'l402-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let running: { api: PaywallApp; server: Server } | null = null;
afterEach(async () => {
  if (!running) return;
  const { api, server } = running;
  running = null;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await api.close();
});

async function start(options: PaywallAppOptions = {}): Promise<string> {
  const api = await createApp({
    sqliteFile: join(dir, `${Math.random().toString(36).slice(2)}.sqlite`),
    env: {},
    ...options,
  });
  const server = api.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  running = { api, server };
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('examples/l402-paywall', () => {
  it('curl flow – 402 with both challenges, pay with the simulator, retry → 200', async () => {
    const base = await start();
    const ask = await fetch(`${base}/api/joke`);
    expect(ask.status).toBe(402);
    const challenge = parseChallenge(ask.headers);
    expect(challenge?.scheme).toBe('L402');
    expect(ask.headers.get('www-authenticate')).toMatch(/^LSAT macaroon=".+", invoice="lnbcrt100n1.+", L402 macaroon=/);
    const { l402 } = (await ask.json()) as { l402: { macaroon: string; invoice: string; amountSats: number } };
    expect(l402.amountSats).toBe(10);
    const pay = await fetch(`${base}/dev/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invoice: l402.invoice }),
    });
    const { preimage } = (await pay.json()) as { preimage: string };
    const auth = { authorization: `L402 ${l402.macaroon}:${preimage}` };
    const ok = await fetch(`${base}/api/joke`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { joke: string }).joke).toEqual(expect.any(String));
    const wrongPath = await fetch(`${base}/api/report/2025`, { headers: auth });
    expect(wrongPath.status).toBe(403);
    expect(wrongPath.headers.get('x-l402-error')).toBe('L402_PATH_NOT_ALLOWED');
  });

  it('client – pays once per endpoint within its budget and reuses the token', async () => {
    const base = await start();
    const client = await runClient(base, {});
    expect(client.spentSats).toBe(60);
    expect(client.tokenFor(`${base}/api/joke`)?.amountSats).toBe(10);
    // The report token is bound to /api/report/*: it opens every year without another payment.
    expect((await client.fetch(`${base}/api/report/2024`)).status).toBe(200);
    expect(client.spentSats).toBe(60);
    expect(client.tokenFor(`${base}/api/report/2024`)?.amountSats).toBe(50);
  });

  it('single-use – L402_REPLAY=single-use refuses the second request with L402_TOKEN_USED', async () => {
    const base = await start({ env: { L402_REPLAY: 'single-use' } });
    const ask = (await (await fetch(`${base}/api/joke`)).json()) as { l402: { macaroon: string; invoice: string } };
    const { preimage } = (await (
      await fetch(`${base}/dev/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ invoice: ask.l402.invoice }),
      })
    ).json()) as { preimage: string };
    const auth = { authorization: `L402 ${ask.l402.macaroon}:${preimage}` };
    expect((await fetch(`${base}/api/joke`, { headers: auth })).status).toBe(200);
    const again = await fetch(`${base}/api/joke`, { headers: auth });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string }).error).toBe('L402_TOKEN_USED');
  });
});
