/**
 * The encryption port. `aad` (additional authenticated data) binds a ciphertext to its place, so
 * a value copied to another row or column does not decrypt.
 *
 * @example
 * ```ts
 * const enc = new NodeEncryptionDriver({ key: process.env.PAYABLE_KEY! });
 * const c = enc.encrypt('a@b.c', 'customer:cus_1:email');
 * enc.decrypt(c, 'customer:cus_1:email'); // 'a@b.c'
 * ```
 */
export interface EncryptionDriver {
  encrypt(plaintext: string, aad: string): string;
  /** Throws `EncryptionInvalidCiphertextError` for tampered, truncated, foreign or garbage input. */
  decrypt(ciphertext: string, aad: string): string;
}
