import type { StorageDriver } from '@payable/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cursorTests } from './storage/cursors.js';
import type { DefineTest } from './storage/harness.js';
import { idempotencyTests } from './storage/idempotency.js';
import { inboxTests } from './storage/inbox.js';
import { l402Tests } from './storage/l402.js';
import { lifecycleTests } from './storage/lifecycle.js';
import { lockTests } from './storage/locks.js';
import { outboundTests } from './storage/outbound.js';
import { outboxTests } from './storage/outbox.js';
import { recordTests } from './storage/records.js';
import { transactionTests } from './storage/transactions.js';

/** How `storageConformance` builds, tears down and adjusts the driver under test. */
export interface StorageConformanceOptions {
  /**
   * A fresh, empty driver for one test. Drivers over a real database connect (and migrate) once,
   * then truncate every table here.
   */
  makeDriver: () => Promise<StorageDriver>;
  /** Called after each test with that test's driver; defaults to `driver.close()` (which may have run already). */
  teardown?: (driver: StorageDriver) => Promise<void>;
  /** Tests to leave out, by exact title (`'operation – expected behaviour'`), each with the reason. */
  disabled?: Record<string, string>;
  /** Registers the implementation's own tests; `getDriver()` is the current test's driver. */
  extra?: (getDriver: () => StorageDriver) => void;
}

/**
 * Registers the storage-port conformance suite with vitest: every guarantee of `StorageDriver`
 * (unique keys under concurrency, tenant scoping, pagination, leases and claims, idempotency
 * compare-and-set, outbox order per aggregate, transactions, durable cursors, L402 root keys and
 * spent payment hashes, outbound webhook endpoints, deliveries deduplicated by (endpoint, event) and
 * claimed without overlap, the delivery log, Date and JSON round-trips). Each test
 * gets a fresh driver from `makeDriver`. Call it at the top level of a test file.
 *
 * @example
 * ```ts
 * import { MemoryStorageDriver } from '@payable/core';
 * import { storageConformance } from '@payable/testing';
 *
 * storageConformance('memory', { makeDriver: async () => new MemoryStorageDriver() });
 * ```
 */
export function storageConformance(name: string, options: StorageConformanceOptions): void {
  describe(`storage conformance: ${name}`, () => {
    let current: StorageDriver | undefined;
    const getDriver = (): StorageDriver => {
      if (!current) throw new Error('getDriver() is only available while a test runs');
      return current;
    };

    beforeEach(async () => {
      current = await options.makeDriver();
    });

    afterEach(async () => {
      const driver = current;
      current = undefined;
      if (driver) await (options.teardown ?? ((d: StorageDriver) => d.close()))(driver);
    });

    const disabled = options.disabled ?? {};
    const titles = new Set<string>();
    const test: DefineTest = (title, fn) => {
      if (titles.has(title)) throw new Error(`duplicate storage conformance test title: ${title}`);
      titles.add(title);
      const reason = disabled[title];
      if (reason !== undefined) {
        it.skip(`${title} [disabled: ${reason}]`, () => undefined);
        return;
      }
      it(title, () => fn(getDriver()));
    };

    describe('records', () => recordTests(test));
    describe('inbox', () => inboxTests(test));
    describe('locks', () => lockTests(test));
    describe('cursors', () => cursorTests(test));
    describe('idempotency', () => idempotencyTests(test));
    describe('outbox', () => outboxTests(test));
    describe('l402', () => l402Tests(test));
    describe('outbound webhooks', () => outboundTests(test));
    describe('transactions', () => transactionTests(test));
    describe('lifecycle', () => lifecycleTests(test));

    it('conformance – every disabled title names a test of the suite', () => {
      expect(Object.keys(disabled).filter((title) => !titles.has(title))).toEqual([]);
    });

    if (options.extra) {
      const extra = options.extra;
      describe('extra', () => extra(getDriver));
    }
  });
}
