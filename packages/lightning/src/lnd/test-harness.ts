import {
  createPayable,
  type LogFields,
  type Logger,
  MemoryStorageDriver,
  type PayableOptions,
  type StorageDriver,
} from '@payable/core';
import { LndSimulator, type LndSimulatorOptions, TestClock } from '@payable/testing';
import { encodeInvoice } from '../bolt11/encode-invoice.js';
import { LndProvider, type LndProviderOptions } from './lnd-provider.js';

/** Test-only: an LND simulator on a test clock, and an LndProvider pointed at it. */
export async function startLnd(
  options: {
    clock?: TestClock;
    simulator?: Omit<LndSimulatorOptions, 'encodeInvoice' | 'clock'>;
    provider?: Partial<LndProviderOptions>;
  } = {},
) {
  const clock = options.clock ?? new TestClock(new Date());
  const sim = new LndSimulator({ encodeInvoice, clock, ...options.simulator });
  const url = await sim.start();
  const lnd = new LndProvider({ url, macaroon: sim.macaroon, clock, ...options.provider });
  return { sim, lnd, clock, url };
}

/** Test-only: a Payable on the LND provider, memory storage by default, the test clock. */
export function lndPayable(
  lnd: LndProvider,
  clock: TestClock,
  options: Partial<PayableOptions<{ lnd: LndProvider }>> & { storage?: StorageDriver } = {},
) {
  return createPayable({
    providers: { lnd },
    storage: options.storage ?? new MemoryStorageDriver(),
    clock,
    webhooks: { sweepIntervalMs: 0, ...options.webhooks },
    ...(options.lightning ? { lightning: options.lightning } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
  });
}

/** A log entry kept by {@link recordingLogger}. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: LogFields;
  message: string;
}

/** Test-only: a logger that keeps every entry (to check what was logged, and that no secret was). */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (fields: LogFields, message?: string) => {
    entries.push({ level, fields, message: message ?? '' });
  };
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
