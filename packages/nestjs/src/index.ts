export { RAW_BODY_SETTING } from './http-bridge.js';
export {
  OnPayableEvent,
  PAYABLE_EVENT_METADATA,
  type PayableEventSubscription,
} from './on-payable-event.js';
export type {
  PayableControllerDecorators,
  PayableModuleAsyncOptions,
  PayableModuleOptions,
  PayableModuleRootOptions,
  PayableOptionsFactory,
} from './options.js';
export { PayableModule } from './payable-module.js';
export { PayableService } from './payable-service.js';
export { InjectPayable, PAYABLE, PAYABLE_MODULE_OPTIONS } from './tokens.js';
