import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPreimage } from '@payable/core';
import { decodeInvoice } from '@payable/lightning';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CheckoutApp, type CheckoutAppOptions, createApp } from '../src/app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Running {
  checkout: CheckoutApp;
  base: string;
  stop(): Promise<void>;
}

/** Seconds left on the page's countdown (`m:ss`). */
async function countdownSeconds(page: Page): Promise<number> {
  const text = (await page.locator('#countdown').textContent()) ?? '';
  const match = /^(\d+):(\d{2})$/.exec(text.trim());
  if (!match) throw new Error(`The countdown shows "${text}", not m:ss`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * Wait until `#status` reads exactly `text`. Polled from the test through locators: the page's
 * Content-Security-Policy (nonce scripts only) forbids the string evaluation `waitForFunction` uses.
 */
async function waitForStatus(page: Page, text: string, timeout = 10_000): Promise<void> {
  await expect.poll(() => page.locator('#status').textContent(), { timeout, interval: 100 }).toBe(text);
}

/** Counts the main frame's navigations from now on: a page that updates itself stays at 0. */
function countNavigations(page: Page): () => number {
  let count = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) count++;
  });
  return () => count;
}

/** Open the checkout, submit `amount` sats, and land on the pay page; returns the payment id. */
async function checkout(page: Page, base: string, amount: string): Promise<string> {
  await page.goto(`${base}/`);
  await page.locator('#amount').fill(amount);
  await Promise.all([page.waitForURL(/\/pay\/[^/]+$/), page.locator('#checkout').click()]);
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  expect(id).not.toBe('');
  return id;
}

describe('examples/lightning-checkout in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payable-example-lightning-checkout-'));
  const running: Running[] = [];
  let browser: Browser;
  let boots = 0;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium was not found at ${CHROMIUM}. This test drives a real browser and is never skipped: ` +
          'install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to its executable.',
      );
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterEach(async () => {
    for (const run of running.splice(0)) await run.stop();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boot(options: CheckoutAppOptions = {}): Promise<Running> {
    const checkout = await createApp({ sqliteFile: join(dir, `checkout-${++boots}.sqlite`), env: {}, ...options });
    let server: Server | undefined;
    await new Promise<void>((resolve) => {
      server = checkout.app.listen(0, '127.0.0.1', () => resolve());
    });
    const started = server as Server;
    const { port } = started.address() as AddressInfo;
    const run: Running = {
      checkout,
      base: `http://127.0.0.1:${port}`,
      async stop() {
        started.closeAllConnections();
        await new Promise<void>((resolve) => started.close(() => resolve()));
        await checkout.close();
      },
    };
    running.push(run);
    return run;
  }

  it('checkout – the pay page shows the QR code and counts down, then turns to "Paid" by itself with the preimage', async () => {
    const { base, checkout: app } = await boot();
    expect(app.mode).toBe('simulator');
    const sim = app.simulator;
    if (!sim) throw new Error('simulator mode expected');
    const page = await browser.newPage();
    // The page's own script must run under its Content-Security-Policy without a single error.
    const pageErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const id = await checkout(page, base, '2100');
    await expect(page.locator('#status').textContent()).resolves.toBe('Waiting for payment');
    await expect(page.locator('#amount').textContent()).resolves.toBe('2,100 sats');

    // The QR code is drawn (an inline SVG, rendered server-side) and the invoice text is a real
    // BOLT-11 regtest invoice for 2 100 sats that expires with the payment.
    const qr = page.locator('#qr svg');
    expect(await qr.isVisible()).toBe(true);
    expect((await qr.boundingBox())?.width ?? 0).toBeGreaterThan(100);
    const paymentRequest = ((await page.locator('#payment-request').textContent()) ?? '').trim();
    expect(paymentRequest).toMatch(/^lnbcrt21u1/);
    const invoice = decodeInvoice(paymentRequest);
    expect(invoice).toMatchObject({ network: 'regtest', amountMsat: 2_100_000n, expiry: 600 });
    const stored = await app.payable.getPayment(id);
    expect(stored.lightning?.paymentRequest).toBe(paymentRequest);
    expect(stored.expiresAt?.getTime()).toBe((invoice.timestamp + invoice.expiry) * 1000);

    // The countdown runs in the page.
    const first = await countdownSeconds(page);
    expect(first).toBeGreaterThan(590);
    expect(first).toBeLessThanOrEqual(600);
    await expect.poll(() => countdownSeconds(page), { timeout: 5_000, interval: 100 }).toBeLessThan(first);

    // The payer's wallet pays; the page turns to "Paid" without a reload or a navigation.
    const navigations = countNavigations(page);
    sim.pay(paymentRequest);
    await waitForStatus(page, 'Paid');
    expect(navigations()).toBe(0);

    const preimage = ((await page.locator('#preimage').textContent()) ?? '').trim();
    expect(preimage).toBe(sim.preimageOf(paymentRequest));
    expect(verifyPreimage(preimage, invoice.paymentHash)).toBe(true);
    expect(await page.locator('#preimage').isVisible()).toBe(true);
    expect(await page.locator('#qr').isVisible()).toBe(false);
    expect(await page.locator('#dev-pay').isVisible()).toBe(false);
    const paid = await app.payable.getPayment(id);
    expect(paid).toMatchObject({ status: 'succeeded', amount: 2100, currency: 'BTC' });
    expect(paid.lightning?.preimage).toBe(preimage);

    // A screenshot of the paid state is a real PNG.
    const shot = join(mkdtempSync(join(dir, 'screenshots-')), 'paid.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.length).toBeGreaterThan(1000);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBeGreaterThan(0); // IHDR width
    expect(png.readUInt32BE(20)).toBeGreaterThan(0); // IHDR height

    expect(pageErrors).toEqual([]);

    // Reloading shows the same receipt, rendered by the server.
    await page.reload();
    await expect(page.locator('#status').textContent()).resolves.toBe('Paid');
    await expect(page.locator('#preimage').textContent()).resolves.toBe(preimage);
    await page.close();
  });

  it('checkout – an invoice left unpaid turns the page to "Expired" by itself at its expiry', async () => {
    const { base, checkout: app } = await boot({ expiresIn: 3 });
    const page = await browser.newPage();
    const id = await checkout(page, base, '500');
    await expect(page.locator('#status').textContent()).resolves.toBe('Waiting for payment');
    expect(await countdownSeconds(page)).toBeLessThanOrEqual(3);
    const navigations = countNavigations(page);

    await waitForStatus(page, 'Expired — create a new payment');
    expect(navigations()).toBe(0);
    expect(await page.locator('#qr').isVisible()).toBe(false);
    const expired = await app.payable.getPayment(id);
    expect(expired.status).toBe('expired');
    expect(Date.now()).toBeGreaterThanOrEqual(expired.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);

    // The way out is a new payment, never the old invoice extended.
    await Promise.all([page.waitForURL(`${base}/`), page.locator('#new-payment').click()]);
    expect(await page.locator('#amount').isVisible()).toBe(true);
    await page.close();
  });

  it('checkout – the simulator control on the page pays the invoice; a second press is refused', async () => {
    const { base, checkout: app } = await boot();
    const page = await browser.newPage();
    const id = await checkout(page, base, '1234');
    const paymentRequest = ((await page.locator('#payment-request').textContent()) ?? '').trim();
    expect(await page.locator('#dev-pay').isVisible()).toBe(true);

    await Promise.all([page.waitForURL(`${base}/pay/${id}`), page.locator('#dev-pay').click()]);
    await waitForStatus(page, 'Paid');
    await expect(page.locator('#preimage').textContent()).resolves.toBe(app.simulator?.preimageOf(paymentRequest));

    const again = await fetch(`${base}/dev/pay/${id}`, { method: 'POST', redirect: 'manual' });
    expect(again.status).toBe(409);

    const invalid = await fetch(`${base}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=2.5',
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('Enter a whole number of satoshis');
    const unknown = await fetch(`${base}/pay/no-such-payment/status`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'NOT_FOUND' });
    await page.close();
  });
});
