import {
  type Clock,
  type EncryptionDriver,
  isPayableError,
  type Logger,
  type StorageSession,
  StorageUnavailableError,
} from '@payable/core';

type RootKeyStorage = Pick<StorageSession, 'putL402RootKey' | 'getL402RootKey' | 'deleteL402RootKey'>;

const HEX_KEY = /^(?:[0-9a-f]{2}){16,64}$/;

/** The additional data binding an encrypted root key to its row. */
function aad(id: string): string {
  return `l402:root-key:${id}`;
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isPayableError(error)) throw error;
    throw new StorageUnavailableError('The storage is unavailable; retry later.', { cause: error });
  }
}

/**
 * Root keys of issued tokens: stored through the storage driver (encrypted with the encryption
 * driver when one is given), read through a bounded in-memory cache that keeps a key for the token
 * lifetime, so verifying a token usually touches neither the node nor the database. Internal.
 */
export class RootKeyStore {
  readonly #storage: RootKeyStorage;
  readonly #encryption: EncryptionDriver | null;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #cacheTtlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, { key: Buffer; until: number }>();

  constructor(options: {
    storage: RootKeyStorage;
    encryption: EncryptionDriver | null;
    clock: Clock;
    logger: Logger;
    cacheTtlMs: number;
    maxEntries?: number;
  }) {
    this.#storage = options.storage;
    this.#encryption = options.encryption;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#cacheTtlMs = options.cacheTtlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  async put(input: {
    id: string;
    rootKey: Buffer;
    tenantId: string | null;
    createdAt: Date;
    expiresAt: Date | null;
  }): Promise<void> {
    const hex = input.rootKey.toString('hex');
    const stored = this.#encryption ? this.#encryption.encrypt(hex, aad(input.id)) : hex;
    await guard(() =>
      this.#storage.putL402RootKey({
        id: input.id,
        tenantId: input.tenantId,
        rootKey: stored,
        createdAt: input.createdAt,
        expiresAt: input.expiresAt,
      }),
    );
    this.#remember(input.id, input.rootKey);
  }

  /** The root key, or `null` when there is none (never issued here, revoked, purged, unreadable). */
  async get(id: string): Promise<Buffer | null> {
    const now = this.#clock.now().getTime();
    const cached = this.#cache.get(id);
    if (cached !== undefined) {
      if (cached.until > now) return cached.key;
      this.#cache.delete(id);
    }
    const row = await guard(() => this.#storage.getL402RootKey(id));
    if (row === null) return null;
    const key = this.#decode(id, row.rootKey);
    if (key !== null) this.#remember(id, key);
    return key;
  }

  /** Delete the key (the token stops verifying here at once, elsewhere when caches expire). */
  async revoke(id: string): Promise<boolean> {
    this.#cache.delete(id);
    return guard(() => this.#storage.deleteL402RootKey(id));
  }

  #decode(id: string, stored: string): Buffer | null {
    if (this.#encryption) {
      try {
        return Buffer.from(this.#encryption.decrypt(stored, aad(id)), 'hex');
      } catch (error) {
        // A key stored before encryption was configured is plain hex: still readable.
        if (HEX_KEY.test(stored)) return Buffer.from(stored, 'hex');
        this.#logger.warn(
          { rootKeyId: id, code: isPayableError(error) ? error.code : 'UNKNOWN' },
          'L402 root key could not be decrypted (wrong or rotated-out encryption key?): the token is refused',
        );
        return null;
      }
    }
    if (HEX_KEY.test(stored)) return Buffer.from(stored, 'hex');
    this.#logger.warn(
      { rootKeyId: id },
      'L402 root key is encrypted but the paywall has no encryption driver: pass { encryption } to read it',
    );
    return null;
  }

  #remember(id: string, key: Buffer): void {
    if (this.#cacheTtlMs <= 0) return;
    if (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(id, { key, until: this.#clock.now().getTime() + this.#cacheTtlMs });
  }
}
