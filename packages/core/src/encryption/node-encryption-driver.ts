import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { EncryptionInvalidCiphertextError, EncryptionKeyRequiredError, ValidationError } from '../errors/classes.js';
import type { PayableError } from '../errors/payable-error.js';
import type { EncryptionDriver } from './types.js';

/** Key material: a non-empty, high-entropy string (HKDF-derived) or exactly 32 raw bytes. */
export type EncryptionKeyMaterial = string | Uint8Array;

/**
 * Options of {@link NodeEncryptionDriver}: one key (`{ key }`, key id `k1`), or several keys by id
 * with the one that encrypts (`{ keys, activeKid }`). `key` accepts `undefined` so
 * `process.env.X` can be passed straight in; it is refused at construction.
 *
 * @example
 * ```ts
 * const single: NodeEncryptionDriverOptions = { key: process.env.PAYABLE_ENCRYPTION_KEY };
 * const rotating: NodeEncryptionDriverOptions = { keys: { k1: oldKey, k2: newKey }, activeKid: 'k2' };
 * ```
 */
export type NodeEncryptionDriverOptions =
  | { key: EncryptionKeyMaterial | undefined; keys?: never; activeKid?: never }
  | { keys: Readonly<Record<string, EncryptionKeyMaterial | undefined>>; activeKid: string; key?: never };

/** The version tag of the ciphertext format this driver writes. */
const VERSION = 'v1';
/** Key id used by the single-key `{ key }` form. */
const DEFAULT_KID = 'k1';
/** Key ids: 1–64 characters from the base64url alphabet (so never a dot). */
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const B64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF-SHA256 parameters for string keys. Changing them makes every stored value unreadable. */
const HKDF_SALT = 'payable/encryption/v1';
const HKDF_INFO = 'aes-256-gcm key';
/** A lone (unpaired) UTF-16 surrogate: such a string does not survive a UTF-8 round trip. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type InvalidReason =
  | 'not_a_string'
  | 'malformed'
  | 'unknown_version'
  | 'unknown_kid'
  | 'truncated'
  | 'authentication_failed';

const REASON_TEXT: Record<InvalidReason, string> = {
  not_a_string: 'the value is not a string',
  malformed: 'the value is not in the Payable ciphertext format',
  unknown_version: 'the format version is not supported',
  unknown_kid: 'the key id is not configured',
  truncated: 'the nonce or authentication tag has the wrong length',
  authentication_failed: 'authentication failed (tampered, another key, or another aad)',
};

function invalid(reason: InvalidReason, kid?: string): PayableError {
  return new EncryptionInvalidCiphertextError(`Cannot decrypt: ${REASON_TEXT[reason]}.`, {
    context: kid === undefined ? { reason } : { reason, kid },
  });
}

function deriveKey(kid: string, material: unknown): Buffer {
  if (typeof material === 'string') {
    if (material.trim() === '') {
      throw new EncryptionKeyRequiredError(
        `Encryption key "${kid}" is empty or whitespace; pass a high-entropy secret.`,
        {
          context: { kid },
        },
      );
    }
    return Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), HKDF_SALT, HKDF_INFO, KEY_BYTES));
  }
  if (material instanceof Uint8Array) {
    if (material.byteLength !== KEY_BYTES) {
      throw new EncryptionKeyRequiredError(
        `Encryption key "${kid}" has ${material.byteLength} bytes; a raw key must be exactly ${KEY_BYTES} bytes.`,
        { context: { kid } },
      );
    }
    // A copy, so a caller mutating or zeroing its buffer does not change the driver's key.
    return Buffer.from(material);
  }
  throw new EncryptionKeyRequiredError(
    `Encryption key "${kid}" is missing; pass a non-empty string or ${KEY_BYTES} raw bytes.`,
    { context: { kid } },
  );
}

function checkText(field: 'plaintext' | 'aad', value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new ValidationError(`${field} must be a string.`, { context: { field, reason: 'not_a_string' } });
  }
  if (LONE_SURROGATE.test(value)) {
    throw new ValidationError(`${field} contains an unpaired UTF-16 surrogate and cannot be encoded as UTF-8.`, {
      context: { field, reason: 'ill_formed_unicode' },
    });
  }
}

/** The bytes GCM authenticates besides the ciphertext: the header and the caller's aad. */
function gcmAad(kid: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${kid}.${aad}`, 'utf8');
}

function decodeB64url(part: string): Buffer | undefined {
  if (!B64URL_PATTERN.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  // Refuse non-canonical encodings (stray trailing bits), so one value has exactly one spelling.
  return bytes.toString('base64url') === part ? bytes : undefined;
}

/**
 * The built-in {@link EncryptionDriver}: AES-256-GCM from `node:crypto` with a random 12-byte nonce
 * per value and a 16-byte tag. Ciphertexts are strings `v1.<kid>.<nonce>.<ciphertext+tag>` (both
 * parts unpadded base64url); the GCM additional data is `v1.<kid>.<aad>`, so a value only decrypts
 * under the same key id and in the same place it was written. A string key is stretched to 32
 * bytes with HKDF-SHA256 (salt `payable/encryption/v1`, info `aes-256-gcm key`); a 32-byte
 * `Uint8Array` is used as is. Rotation: the `activeKid` key encrypts, every configured key decrypts.
 *
 * @example
 * ```ts
 * const encryption = new NodeEncryptionDriver({ key: process.env.PAYABLE_ENCRYPTION_KEY });
 * const c = encryption.encrypt('ada@example.com', 'customer:cus_1:email');
 * encryption.decrypt(c, 'customer:cus_1:email'); // 'ada@example.com'
 *
 * // Rotation: k2 encrypts from now on, values written under k1 still decrypt.
 * new NodeEncryptionDriver({ keys: { k1: oldKey, k2: newKey }, activeKid: 'k2' });
 * ```
 */
export class NodeEncryptionDriver implements EncryptionDriver {
  /** The key id new ciphertexts are written with (`k1` for the `{ key }` form). */
  readonly activeKid: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(options: NodeEncryptionDriverOptions) {
    const opts = (options ?? {}) as { key?: unknown; keys?: unknown; activeKid?: unknown };
    const keys = new Map<string, Buffer>();
    let activeKid = DEFAULT_KID;
    if (opts.keys !== undefined && opts.keys !== null) {
      if (typeof opts.keys !== 'object') {
        throw new EncryptionKeyRequiredError('`keys` must be an object of key id to key.');
      }
      for (const [kid, material] of Object.entries(opts.keys)) {
        if (!KID_PATTERN.test(kid)) {
          throw new EncryptionKeyRequiredError(
            'Encryption key ids must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-".',
            { context: { reason: 'invalid_kid' } },
          );
        }
        keys.set(kid, deriveKey(kid, material));
      }
      if (keys.size === 0) {
        throw new EncryptionKeyRequiredError('`keys` is empty; configure at least one encryption key.');
      }
      if (typeof opts.activeKid !== 'string' || !keys.has(opts.activeKid)) {
        throw new EncryptionKeyRequiredError('`activeKid` must name one of the configured `keys`.', {
          context: { kids: [...keys.keys()] },
        });
      }
      activeKid = opts.activeKid;
    } else {
      keys.set(DEFAULT_KID, deriveKey(DEFAULT_KID, opts.key));
    }
    this.#keys = keys;
    this.activeKid = activeKid;
  }

  /** The configured key ids, active one included. */
  get kids(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /**
   * Encrypts `plaintext` with the active key, bound to `aad`. Two calls never return the same
   * string (fresh random nonce each time).
   *
   * @example
   * ```ts
   * encryption.encrypt('{"id":"evt_1"}', 'webhook_event:evt_1:payload'); // 'v1.k1.…'
   * ```
   */
  encrypt(plaintext: string, aad: string): string {
    checkText('plaintext', plaintext);
    checkText('aad', aad);
    const kid = this.activeKid;
    const key = this.#keys.get(kid) as Buffer;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(gcmAad(kid, aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${kid}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  /**
   * Decrypts a value written by {@link NodeEncryptionDriver.encrypt} under any configured key,
   * checking it against `aad`. Throws `EncryptionInvalidCiphertextError` (with `context.reason`)
   * for anything else; the message never carries the input, the plaintext or a key.
   *
   * @example
   * ```ts
   * encryption.decrypt(row.email, `customer:${row.id}:email`);
   * ```
   */
  decrypt(ciphertext: string, aad: string): string {
    if (typeof ciphertext !== 'string') throw invalid('not_a_string');
    checkText('aad', aad);
    const parts = ciphertext.split('.');
    if (parts.length !== 4) throw invalid('malformed');
    const [version, kid, noncePart, bodyPart] = parts as [string, string, string, string];
    if (version !== VERSION) throw invalid(/^v\d{1,4}$/.test(version) ? 'unknown_version' : 'malformed');
    if (!KID_PATTERN.test(kid)) throw invalid('malformed');
    const key = this.#keys.get(kid);
    if (key === undefined) throw invalid('unknown_kid', kid);
    const nonce = decodeB64url(noncePart);
    const body = decodeB64url(bodyPart);
    if (nonce === undefined || body === undefined) throw invalid('malformed', kid);
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw invalid('truncated', kid);
    const tag = body.subarray(body.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(gcmAad(kid, aad));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
      return plain.toString('utf8');
    } catch {
      // Node's message ("Unsupported state or unable to authenticate data") is dropped on purpose:
      // nothing from the failed attempt is passed on.
      throw invalid('authentication_failed', kid);
    }
  }
}
