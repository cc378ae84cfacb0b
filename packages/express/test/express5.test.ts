import { createRequire } from 'node:module';
import { payableRouter } from '@payable/express';
import express from 'express';
import { expect, it } from 'vitest';
import { expressSuite } from './express-suite.js';
import { testPayable } from './support.js';

it('runs against Express 5', async () => {
  const version = (createRequire(import.meta.url)('express/package.json') as { version: string }).version;
  expect(version).toMatch(/^5\./);
  expect(typeof express.Router).toBe('function');
  // The adapter's router is Express 5's (router 2.x has no `_params`; Express 4's router 1.x has).
  const { payable } = testPayable();
  expect(payableRouter(payable)).not.toHaveProperty('_params');
  await payable.close();
});

expressSuite('express5');
