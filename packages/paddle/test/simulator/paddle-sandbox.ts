import type { ProviderSandbox } from '@payable/testing';
import type { PaddleSimulator } from './paddle-simulator.js';

/**
 * The provider conformance harness of a {@link PaddleSimulator}: signs as Paddle signs, with the
 * simulator's secret, and emits genuine `transaction.completed` notifications for payments.
 */
export function paddleSandbox(sim: PaddleSimulator, toleranceSeconds = 300): ProviderSandbox {
  return {
    secret: sim.webhookSecrets[0] ?? '',
    toleranceSeconds,
    currency: 'USD',
    now: () => sim.now(),
    signedEvent: (_type, providerId) => sim.event('transaction.completed', providerId),
    sign: (rawBody, options = {}) =>
      sim.sign(rawBody, {
        ...(options.at === undefined ? {} : { at: options.at }),
        ...(options.secret === undefined ? {} : { secrets: [options.secret] }),
      }),
  };
}
