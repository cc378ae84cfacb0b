import type { ProviderSandbox } from '../conformance/provider.js';
import type { FakeCapability, FakeProvider } from './fake-provider.js';

/**
 * The {@link ProviderSandbox} of a `FakeProvider`, for the provider conformance suite: signs with
 * the fake's scheme and secret, emits its events, settles its pending payments, and reads time from
 * its clock.
 *
 * @example
 * ```ts
 * providerConformance('fake', () => new FakeProvider(), (fake) => fakeSandbox(fake));
 * ```
 */
export function fakeSandbox<C extends FakeCapability>(fake: FakeProvider<C>): ProviderSandbox {
  return {
    secret: fake.secret,
    toleranceSeconds: fake.toleranceSeconds,
    currency: 'USD',
    now: () => fake.now(),
    settle: (providerId) => {
      if (fake.lookup('payment', providerId).status !== 'succeeded') fake.completePayment(providerId);
    },
    signedEvent: (type, providerId) => fake.eventFor(type, providerId),
    sign: (rawBody, options = {}) =>
      fake.signedDelivery(rawBody, {
        ...(options.at === undefined ? {} : { timestamp: options.at }),
        ...(options.secret === undefined ? {} : { secret: options.secret }),
      }),
  };
}
