// On-chain fallback addresses (`f` fields): witness programs (versions 0–16), P2PKH (17), P2SH (18).
import { sha256 } from '@noble/hashes/sha2';
import { bech32, bech32m, createBase58check } from '@scure/base';
import type { InvoiceNetwork } from './types.js';
import { toHex } from './words.js';

const base58check = createBase58check(sha256);

interface AddressParams {
  readonly segwitHrp: string;
  readonly p2pkh: number;
  readonly p2sh: number;
}

const ADDRESS_PARAMS: Readonly<Record<InvoiceNetwork, AddressParams>> = {
  bitcoin: { segwitHrp: 'bc', p2pkh: 0x00, p2sh: 0x05 },
  testnet: { segwitHrp: 'tb', p2pkh: 0x6f, p2sh: 0xc4 },
  signet: { segwitHrp: 'tb', p2pkh: 0x6f, p2sh: 0xc4 },
  regtest: { segwitHrp: 'bcrt', p2pkh: 0x6f, p2sh: 0xc4 },
};

export const P2PKH_VERSION = 17;
export const P2SH_VERSION = 18;

/** Whether the `f` field version is one readers understand (19–31 are skipped). */
export function isKnownFallbackVersion(version: number): boolean {
  return Number.isInteger(version) && version >= 0 && version <= P2SH_VERSION;
}

/** Whether `program` is a valid program for a known fallback version (BIP-141, BIP-350, 20-byte hashes). */
export function isValidFallbackProgram(version: number, program: Uint8Array): boolean {
  if (version === P2PKH_VERSION || version === P2SH_VERSION) return program.length === 20;
  if (version === 0) return program.length === 20 || program.length === 32;
  return program.length >= 2 && program.length <= 40;
}

/** The address a (valid) fallback encodes on `network`. */
export function fallbackAddress(network: InvoiceNetwork, version: number, program: Uint8Array): string {
  const params = ADDRESS_PARAMS[network];
  if (version === P2PKH_VERSION || version === P2SH_VERSION) {
    const payload = new Uint8Array(21);
    payload[0] = version === P2PKH_VERSION ? params.p2pkh : params.p2sh;
    payload.set(program, 1);
    return base58check.encode(payload);
  }
  const codec = version === 0 ? bech32 : bech32m;
  return codec.encode(params.segwitHrp, [version, ...codec.toWords(program)], false);
}

/** Reads an address of `network` into its fallback version and program; `undefined` when it is not one. */
export function parseFallbackAddress(
  network: InvoiceNetwork,
  address: string,
): { version: number; hex: string } | undefined {
  const params = ADDRESS_PARAMS[network];
  const lower = address.toLowerCase();
  if (lower.startsWith(`${params.segwitHrp}1`)) {
    for (const codec of [bech32, bech32m]) {
      const decoded = codec.decodeUnsafe(address, 90);
      if (!decoded || decoded.prefix !== params.segwitHrp || decoded.words.length === 0) continue;
      const version = decoded.words[0] as number;
      if (version > 16 || (version === 0) !== (codec === bech32)) continue;
      const program = codec.fromWordsUnsafe(decoded.words.slice(1));
      if (!program || !isValidFallbackProgram(version, program)) continue;
      return { version, hex: toHex(program) };
    }
    return undefined;
  }
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch {
    return undefined;
  }
  if (payload.length !== 21) return undefined;
  const version = payload[0] === params.p2pkh ? P2PKH_VERSION : payload[0] === params.p2sh ? P2SH_VERSION : undefined;
  return version === undefined ? undefined : { version, hex: toHex(payload.subarray(1)) };
}
