export { formatPaddleAmount, parsePaddleAmount } from './amount.js';
export { mapPaddleError } from './map-error.js';
export { PADDLE_EVENT_TYPES, parsePaddleEvent } from './paddle-events.js';
export {
  PADDLE_CAPABILITIES,
  type PaddleCapability,
  type PaddlePauseOptions,
  PaddleProvider,
  type PaddleProviderOptions,
  type PaddleResumeOptions,
} from './paddle-provider.js';
export {
  PADDLE_DEFAULT_TOLERANCE_SECONDS,
  PADDLE_MAX_SIGNATURES,
  PADDLE_SIGNATURE_HEADER,
  type PaddleSignatureCheck,
  type PaddleSignatureParts,
  paddleSignatureHex,
  parsePaddleSignatureHeader,
  signPaddleWebhook,
  verifyPaddleSignature,
} from './paddle-signature.js';
