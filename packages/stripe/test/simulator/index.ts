export { type FormParams, type FormValue, parseStripeForm } from './form.js';
export {
  SIMULATOR_API_KEY,
  SIMULATOR_WEBHOOK_SECRET,
  type SimDelivery,
  type SimEventOptions,
  type SimFault,
  type SimObject,
  type SimPrice,
  type SimRequest,
  type SimSignOptions,
  StripeSimulator,
  type StripeSimulatorOptions,
} from './stripe-simulator.js';
