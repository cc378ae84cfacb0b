// @payable/l402: L402 (formerly LSAT) tokens, the paywall (Express, Fastify, Nest, any framework),
// replay stores, and the client.

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
export {
  DEFAULT_INVOICES_PER_MINUTE,
  DEFAULT_TOKEN_TTL_SECONDS,
  L402Paywall,
} from './paywall/l402-paywall.js';
export type {
  L402ChallengeBody,
  L402ChallengeDetails,
  L402ErrorBody,
  L402Grant,
  L402Payable,
  L402PaywallOptions,
  L402Price,
  L402RateLimitOptions,
  L402ReplayPolicy,
  L402Request,
  L402Response,
  L402RouteOptions,
  L402Verification,
} from './paywall/types.js';
export {
  type MemoryRateLimiterOptions,
  MemoryRateLimiter,
  type RateLimitDecision,
  type RateLimiter,
} from './paywall/rate-limiter.js';
export { normalizeRequestPath } from './paywall/request.js';
export { type NodeResponseLike, writeL402Response } from './paywall/write-response.js';
export {
  fromNodeRequest,
  type L402ExpressMiddleware,
  type L402ExpressRequest,
} from './paywall/express.js';
export type {
  L402FastifyPreHandler,
  L402FastifyReply,
  L402FastifyRequest,
} from './paywall/fastify.js';
export {
  L402,
  type L402Decorator,
  type L402NestContext,
  L402NestGuard,
  l402RouteOf,
} from './nest/l402-guard.js';
export { DEFAULT_REPLAY_TTL_MS, type ReplayStore, type ReplayToken } from './replay/types.js';
export { MemoryReplayStore, type MemoryReplayStoreOptions } from './replay/memory-replay-store.js';
export { RedisReplayStore, type RedisReplayStoreOptions, type RedisSetClient } from './replay/redis-replay-store.js';
export { StorageReplayStore } from './replay/storage-replay-store.js';
export { L402Client } from './client/l402-client.js';
export { LndWallet, type LndWalletOptions } from './client/lnd-wallet.js';
export { invoiceAmountMsat } from './client/bolt11-amount.js';
export type {
  L402CachedToken,
  L402ClientOptions,
  L402DecodedInvoice,
  L402Fetch,
  L402PaymentResult,
  L402Wallet,
} from './client/types.js';
