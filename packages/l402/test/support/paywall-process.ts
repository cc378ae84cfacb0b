// One app process of the cross-process replay test (paywall-replay-processes.test.ts), started with
// `node --import tsx` and an IPC channel: an Express app behind an L402Paywall whose root keys and
// spent tokens live in PostgreSQL through @payable/storage-knex (tables migrated by the test).
//
// Environment: PG_URL, TABLE_PREFIX, REPLAY ('reusable' | 'single-use').
// IPC: sends { type: 'ready', url } once listening; answers { type: 'pay', invoice } with
// { type: 'paid', preimage } (this process's FakeProvider issued the invoice, so only it can settle
// it) or { type: 'pay-failed', message }; { type: 'stop' } closes the server and the pool and exits.
import { createPayable } from '@payable/core';
import { encodeInvoice } from '@payable/lightning';
import { KnexStorageDriver } from '@payable/storage-knex';
import { FakeProvider } from '@payable/testing';
import express from 'express';
import knex from 'knex';
import { L402Paywall, type L402ReplayPolicy, StorageReplayStore } from '../../src/index.js';

const env = process.env;
const replay = (env.REPLAY ?? 'single-use') as L402ReplayPolicy;
const db = knex({ client: 'pg', connection: env.PG_URL, pool: { min: 1, max: 5 } });
const storage = new KnexStorageDriver(db, undefined, { tablePrefix: env.TABLE_PREFIX });
const fake = new FakeProvider({ capabilities: ['charges', 'webhooks', 'lightning'], encodeInvoice });
const payable = createPayable({ providers: { fake }, storage, webhooks: { sweepIntervalMs: 0 } });
const paywall = new L402Paywall({
  payable,
  provider: 'fake',
  service: 'reports',
  replay,
  // Spent payment hashes in the shared database: the only layer, so no process-local memory decides.
  replayStore: new StorageReplayStore(storage),
  rateLimit: false,
});

const app = express();
app.get('/api/report', paywall.express({ price: 10 }), (_req, res) => {
  res.json({ ok: true, pid: process.pid });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
});

async function stop(): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await payable.close();
  await storage.close();
  process.exit(0);
}

process.on('message', (message: { type?: string; invoice?: string }) => {
  if (message.type === 'pay' && typeof message.invoice === 'string') {
    try {
      process.send?.({ type: 'paid', preimage: fake.pay(message.invoice).preimage });
    } catch (error) {
      process.send?.({ type: 'pay-failed', message: error instanceof Error ? error.message : String(error) });
    }
  } else if (message.type === 'stop') {
    void stop();
  }
});
// The test runner went away without saying stop: do not outlive it.
process.on('disconnect', () => {
  void stop();
});
