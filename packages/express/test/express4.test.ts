import { createRequire } from 'node:module';
import { payableRouter } from '@payable/express';
import express from 'express';
import { expect, it, vi } from 'vitest';
import { expressSuite } from './express-suite.js';
import { testPayable } from './support.js';

// Every `import express from 'express'` in this file's module graph, the adapter's included,
// resolves to the real Express 4 (installed as the `express4` alias): the router is built by
// Express 4's Router, as it is in an app that has Express 4 installed.
vi.mock('express', () => import('express4'));

it('runs against Express 4', async () => {
  const require = createRequire(import.meta.url);
  expect((require('express4/package.json') as { version: string }).version).toMatch(/^4\./);
  expect(express).toBe(require('express4'));
  // The adapter's router is Express 4's (router 1.x keeps `_params`; Express 5's router 2.x does not).
  const { payable } = testPayable();
  expect(payableRouter(payable)).toHaveProperty('_params');
  await payable.close();
});

expressSuite('express4');
