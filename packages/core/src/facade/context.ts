import type { Clock } from '../clock/types.js';
import type { EncryptionDriver } from '../encryption/types.js';
import { StorageUnavailableError, WebhookStorageRequiredError } from '../errors/classes.js';
import { isPayableError } from '../errors/payable-error.js';
import type { Logger } from '../logger/types.js';
import type { PaymentProvider } from '../provider/types.js';
import type { QueueDriver } from '../queue/types.js';
import type { StorageDriver } from '../storage/types.js';
import type { PayableHooks } from './types.js';

/** What the facade's parts share. Internal. */
export interface PayableContext {
  providers: Readonly<Record<string, PaymentProvider>>;
  storage: StorageDriver | null;
  queue: QueueDriver;
  encryption: EncryptionDriver | null;
  clock: Clock;
  logger: Logger;
  hooks: PayableHooks;
}

/** Run a storage call, turning anything that is not a PayableError into STORAGE_UNAVAILABLE. */
export async function guardStorage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isPayableError(error)) throw error;
    throw new StorageUnavailableError('The storage is unavailable; nothing was stored. Retry later.', {
      cause: error,
    });
  }
}

/** The storage driver, or WEBHOOK_STORAGE_REQUIRED. */
export function requireWebhookStorage(ctx: PayableContext): StorageDriver {
  if (!ctx.storage) {
    throw new WebhookStorageRequiredError(
      'Webhooks need a storage driver: pass createPayable({ storage }) (e.g. KnexStorageDriver after migrate(knex)).',
    );
  }
  return ctx.storage;
}

/** A short, secret-free description of an error for logs and `lastError`. */
export function describeError(error: unknown): string {
  if (isPayableError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 1000);
  return 'Unknown error';
}
