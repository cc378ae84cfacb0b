// @payable/l402: L402 (formerly LSAT) tokens: macaroons, identifiers, caveats, credentials.

export { decodeBase64Strict, encodeBase64Std } from './macaroon/base64.js';
export { MAX_CAVEATS, MAX_MACAROON_BYTES, type MacaroonParseReason } from './macaroon/binary-v2.js';
export {
  type BytesLike,
  type CreateMacaroonOptions,
  Macaroon,
  type MacaroonCaveat,
} from './macaroon/macaroon.js';
export {
  amountCaveat,
  CAPABILITIES_SUFFIX,
  type Caveat,
  type CaveatContext,
  type CaveatErrorCode,
  type CaveatFailure,
  type CaveatFailureReason,
  type CaveatSatisfier,
  type CaveatSuccess,
  type CaveatVerification,
  CONDITION_AMOUNT,
  CONDITION_MERCHANT,
  CONDITION_PATH,
  CONDITION_SERVICES,
  capabilitiesCaveat,
  decodeCaveat,
  encodeCaveat,
  merchantCaveat,
  pathCaveat,
  pathMatches,
  type ServiceGrant,
  servicesCaveat,
  VALID_UNTIL_SUFFIX,
  type VerifyCaveatsOptions,
  validUntilCaveat,
  verifyCaveats,
} from './token/caveats.js';
export {
  buildChallengeHeaders,
  type ChallengeHeadersInput,
  type ChallengeInput,
  formatChallenge,
  type L402Challenge,
  type L402Credential,
  type L402Scheme,
  parseAuthorization,
  parseChallenge,
  verifyPreimage,
} from './token/credentials.js';
export { type L402ErrorCode, type L402Failure, l402FailureToError } from './token/errors.js';
export {
  decodeIdentifier,
  type EncodeIdentifierInput,
  encodeIdentifier,
  L402_IDENTIFIER_BYTES,
  L402_IDENTIFIER_VERSION,
  type L402Identifier,
  rootKeyId,
} from './token/identifier.js';
export {
  L402_LOCATION,
  type L402TokenInput,
  type L402TokenSuccess,
  type L402TokenVerification,
  type MintedL402Token,
  type MintL402TokenOptions,
  mintL402Token,
  type VerifyL402TokenOptions,
  verifyL402Token,
} from './token/l402-token.js';
