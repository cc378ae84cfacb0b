import {
  CAPABILITIES,
  type Capability,
  isPayableError,
  type NormalizedEvent,
  type PaymentProvider,
  type ProviderContext,
  type ProviderPayment,
} from '@payable/core';
import { beforeEach, describe, expect, it } from 'vitest';

/** A webhook delivery: the exact raw body and lower-case headers, as the provider sends it. */
export interface SandboxDelivery {
  rawBody: string;
  headers: Record<string, string>;
}

/**
 * What a provider's test harness offers the provider conformance suite: the few things only the
 * provider's own sandbox or simulator can do (sign like the provider, emit a genuine event, settle
 * a payment), so one suite runs against the fake, Stripe/Paddle simulators and Lightning nodes.
 *
 * @example
 * ```ts
 * const sandbox: ProviderSandbox = {
 *   secret: 'whsec_test',
 *   toleranceSeconds: 300,
 *   signedEvent: (type, providerId) => simulator.emit(type, providerId),
 *   sign: (rawBody, { at, secret } = {}) => simulator.sign(rawBody, at, secret),
 * };
 * ```
 */
export interface ProviderSandbox {
  /** The webhook secret the provider verifies with when `verifyWebhook` gets no `secret`. */
  readonly secret: string;
  /**
   * The signature timestamp tolerance in seconds, or `null` when the scheme signs no timestamp
   * (then the stale-timestamp tests are not registered).
   */
  readonly toleranceSeconds: number | null;
  /** The currency the suite charges in (`BTC` for Lightning). Default `'USD'`. */
  readonly currency?: string;
  /** The amount the suite charges, in minor units; refunds take parts of it. Default 5000. */
  readonly amount?: number;
  /** The time to hand `verifyWebhook` as `now`. Default: the system time. */
  now?(): Date;
  /**
   * Make a payment created by `charge` succeed, as if the payer paid (pay the Lightning invoice,
   * confirm the card). Only needed for providers whose charges do not succeed at once.
   */
  settle?(providerId: string): Promise<void> | void;
  /** A genuine, signed delivery of the event `type` about the payment `providerId`. */
  signedEvent(type: 'payment.succeeded', providerId: string): Promise<SandboxDelivery> | SandboxDelivery;
  /**
   * `rawBody` signed the provider's way, at `at` (default now) with `secret` (default the
   * sandbox's), as a delivery.
   */
  sign(rawBody: string, options?: { at?: Date; secret?: string }): Promise<SandboxDelivery> | SandboxDelivery;
}

/** Options of {@link providerConformance}. */
export interface ProviderConformanceOptions<P extends PaymentProvider = PaymentProvider> {
  /** Tests not to register, by exact title, each with the reason. An unknown title fails the suite. */
  disabled?: Readonly<Record<string, string>>;
  /** Registers the provider's own tests inside the suite's `describe`. */
  extra?: (context: ProviderConformanceContext<P>) => void;
}

/** What the `extra` hook of {@link providerConformance} gets: the current provider and sandbox. */
export interface ProviderConformanceContext<P extends PaymentProvider = PaymentProvider> {
  provider(): P;
  sandbox(): ProviderSandbox;
  /** The `ProviderContext` the suite passes operations. */
  readonly ctx: ProviderContext;
}

/** The operations each capability requires of a provider. */
const CAPABILITY_OPERATIONS: Record<Capability, readonly (keyof PaymentProvider)[]> = {
  charges: ['charge', 'getPayment'],
  checkout: ['createCheckout'],
  refunds: ['refund'],
  customers: ['createCustomer', 'getCustomer'],
  subscriptions: ['subscribe', 'cancelSubscription'],
  invoices: ['listInvoices'],
  webhooks: ['verifyWebhook'],
  lightning: ['charge', 'getPayment'],
  holdInvoices: ['charge', 'getPayment'],
};

/** The operations a provider may implement, besides `verifyWebhook` (always required). */
const OPERATIONS = [
  'charge',
  'getPayment',
  'refund',
  'createCustomer',
  'getCustomer',
  'createCheckout',
  'subscribe',
  'cancelSubscription',
  'listInvoices',
] as const satisfies readonly (keyof PaymentProvider)[];

const CTX: ProviderContext = Object.freeze({ idempotencyKey: null, tenantId: null });

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be rejected, and it resolved');
}

async function expectCode(run: () => Promise<unknown>, codes: string | readonly string[]): Promise<void> {
  const error = await rejection(run);
  expect(isPayableError(error), `expected a PayableError, got ${String(error)}`).toBe(true);
  const allowed = typeof codes === 'string' ? [codes] : codes;
  expect(allowed).toContain((error as { code: string }).code);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the provider declares a capability but has no ${what}()`);
  return value;
}

/**
 * The provider conformance suite: registers a `describe` of tests every `PaymentProvider` must
 * pass, titled "operation – expected behaviour". Tests of a capability the provider does not
 * declare are not registered (read from `capabilities` of a first provider). `makeProvider` runs
 * before each test; `sandbox` is the harness, or a function building it for that provider.
 *
 * @example
 * ```ts
 * providerConformance('fake', () => new FakeProvider(), (fake) => fakeSandbox(fake));
 * providerConformance('stripe', () => new StripeProvider(opts), stripeSandbox, {
 *   disabled: { 'verifyWebhook – rejects a timestamp ahead of the tolerance': 'Stripe accepts future timestamps' },
 * });
 * ```
 */
export function providerConformance<P extends PaymentProvider>(
  name: string,
  makeProvider: () => Promise<P> | P,
  sandbox: ProviderSandbox | ((provider: P) => ProviderSandbox),
  options: ProviderConformanceOptions<P> = {},
): void {
  describe(`provider conformance: ${name}`, async () => {
    const probe = await makeProvider();
    const caps = new Set<string>(probe.capabilities);
    const has = (capability: Capability): boolean => caps.has(capability);
    const disabled = options.disabled ?? {};
    const titles = new Set<string>();

    let provider: P;
    let harness: ProviderSandbox;
    beforeEach(async () => {
      provider = await makeProvider();
      harness = typeof sandbox === 'function' ? sandbox(provider) : sandbox;
    });

    const test = (title: string, fn: () => Promise<void> | void): void => {
      titles.add(title);
      if (Object.hasOwn(disabled, title)) return;
      it(title, fn);
    };
    const currency = (): string => harness.currency ?? 'USD';
    const amount = (): number => harness.amount ?? 5000;
    const now = (): Date => harness.now?.() ?? new Date();
    const verify = (delivery: SandboxDelivery, extra: { secret?: string; signatureHeader?: string } = {}) =>
      provider.verifyWebhook({
        payload: Buffer.from(delivery.rawBody, 'utf8'),
        headers: delivery.headers,
        now: now(),
        ...extra,
      });
    const charge = async (): Promise<ProviderPayment> => {
      const payment = await need(provider.charge, 'charge').call(
        provider,
        {
          amount: amount(),
          currency: currency(),
          customerProviderId: null,
          description: 'conformance',
          metadata: {},
          expiresIn: null,
          capture: true,
        },
        CTX,
      );
      return payment;
    };
    const settledCharge = async (): Promise<ProviderPayment> => {
      const payment = await charge();
      if (payment.status !== 'succeeded' && harness.settle) await harness.settle(payment.providerId);
      return need(provider.getPayment, 'getPayment').call(provider, payment.providerId, CTX);
    };

    // ---- identity and capabilities ------------------------------------------------------------
    test('capabilities – lists only known capability names, each once', () => {
      expect(provider.capabilities.length).toBeGreaterThan(0);
      for (const capability of provider.capabilities) expect(CAPABILITIES).toContain(capability);
      expect(new Set(provider.capabilities).size).toBe(provider.capabilities.length);
    });

    test("capabilities – every declared capability's operations exist", () => {
      for (const capability of provider.capabilities) {
        for (const op of CAPABILITY_OPERATIONS[capability]) {
          expect(typeof provider[op], `${capability} needs ${op}()`).toBe('function');
        }
      }
    });

    test('identity – has a name, an idempotency mode and a lower-case signature header', () => {
      expect(provider.name).toMatch(/\S/);
      expect(['native', 'none']).toContain(provider.idempotency);
      expect(provider.signatureHeader).toMatch(/\S/);
      expect(provider.signatureHeader).toBe(provider.signatureHeader.toLowerCase());
    });

    const declaredOps = (p: PaymentProvider): Set<string> => {
      const ops = new Set<string>();
      for (const capability of p.capabilities) for (const op of CAPABILITY_OPERATIONS[capability]) ops.add(op);
      return ops;
    };
    const undeclaredOps = (p: PaymentProvider): string[] =>
      OPERATIONS.filter((op) => !declaredOps(p).has(op) && typeof p[op] === 'function');

    if (undeclaredOps(probe).length > 0)
      test('capabilities – an operation of an undeclared capability is absent or PROVIDER_CAPABILITY_NOT_SUPPORTED', async () => {
        const calls: Partial<Record<keyof PaymentProvider, () => Promise<unknown> | undefined>> = {
          charge: () =>
            provider.charge?.(
              {
                amount: 100,
                currency: currency(),
                customerProviderId: null,
                description: null,
                metadata: {},
                expiresIn: null,
                capture: true,
              },
              CTX,
            ),
          getPayment: () => provider.getPayment?.('missing_0000', CTX),
          refund: () =>
            provider.refund?.(
              { paymentProviderId: 'missing_0000', amount: 1, currency: currency(), reason: null, metadata: {} },
              CTX,
            ),
          createCustomer: () => provider.createCustomer?.({ email: null, name: null, metadata: {} }, CTX),
          getCustomer: () => provider.getCustomer?.('missing_0000', CTX),
          createCheckout: () =>
            provider.createCheckout?.(
              {
                mode: 'payment',
                amount: 100,
                currency: currency(),
                priceId: null,
                successUrl: 'https://a.test',
                cancelUrl: 'https://a.test',
                customerProviderId: null,
                metadata: {},
              },
              CTX,
            ),
          subscribe: () =>
            provider.subscribe?.(
              { customerProviderId: 'missing_0000', priceId: 'price_x', trialDays: null, metadata: {} },
              CTX,
            ),
          cancelSubscription: () => provider.cancelSubscription?.('missing_0000', { atPeriodEnd: false }, CTX),
          listInvoices: () =>
            provider.listInvoices?.({ customerProviderId: null, subscriptionProviderId: null, limit: 1 }, CTX),
        };
        const ops = undeclaredOps(provider);
        expect(ops.length).toBeGreaterThan(0);
        for (const op of ops) {
          await expectCode(async () => calls[op as keyof PaymentProvider]?.(), 'PROVIDER_CAPABILITY_NOT_SUPPORTED');
        }
      });

    // ---- charges -----------------------------------------------------------------------------
    if (has('charges')) {
      test('charge – returns the integer amount and the currency as given, with a providerId', async () => {
        const payment = await charge();
        expect(payment.amount).toBe(amount());
        expect(Number.isInteger(payment.amount)).toBe(true);
        expect(payment.currency.toUpperCase()).toBe(currency().toUpperCase());
        expect(payment.providerId).toMatch(/\S/);
      });

      test('getPayment – returns the payment by its providerId', async () => {
        const payment = await charge();
        const read = await need(provider.getPayment, 'getPayment').call(provider, payment.providerId, CTX);
        expect(read.providerId).toBe(payment.providerId);
        expect(read.amount).toBe(amount());
      });

      test('getPayment – an unknown id is NOT_FOUND', async () => {
        await expectCode(
          () => need(provider.getPayment, 'getPayment').call(provider, 'pay_does_not_exist_0000', CTX),
          'NOT_FOUND',
        );
      });

      if (probe.idempotency === 'native') {
        test('charge – the same idempotency key and input returns the same payment', async () => {
          const key = `conformance-${Math.random().toString(36).slice(2)}`;
          const input = {
            amount: amount(),
            currency: currency(),
            customerProviderId: null,
            description: null,
            metadata: {},
            expiresIn: null,
            capture: true,
          };
          const chargeOp = need(provider.charge, 'charge');
          const first = await chargeOp.call(provider, input, { idempotencyKey: key, tenantId: null });
          const second = await chargeOp.call(provider, { ...input }, { idempotencyKey: key, tenantId: null });
          expect(second.providerId).toBe(first.providerId);
        });
      }
    }

    // ---- refunds -----------------------------------------------------------------------------
    if (has('charges') && has('refunds')) {
      test('refund – a partial refund updates the amount refunded and the status', async () => {
        const payment = await settledCharge();
        const part = Math.floor(amount() / 5);
        const refund = await need(provider.refund, 'refund').call(
          provider,
          {
            paymentProviderId: payment.providerId,
            amount: part,
            currency: payment.currency,
            reason: null,
            metadata: {},
          },
          CTX,
        );
        expect(refund.amount).toBe(part);
        expect(refund.paymentProviderId).toBe(payment.providerId);
        const read = await need(provider.getPayment, 'getPayment').call(provider, payment.providerId, CTX);
        expect(read.amountRefunded).toBe(part);
        expect(read.status).toBe('partially_refunded');
      });

      test('refund – refunding the rest makes the payment refunded', async () => {
        const payment = await settledCharge();
        const refundOp = need(provider.refund, 'refund');
        const part = Math.floor(amount() / 5);
        const base = { paymentProviderId: payment.providerId, currency: payment.currency, reason: null, metadata: {} };
        await refundOp.call(provider, { ...base, amount: part }, CTX);
        await refundOp.call(provider, { ...base, amount: amount() - part }, CTX);
        const read = await need(provider.getPayment, 'getPayment').call(provider, payment.providerId, CTX);
        expect(read.amountRefunded).toBe(amount());
        expect(read.status).toBe('refunded');
      });

      test('refund – more than remains is refused with a PayableError and changes nothing', async () => {
        const payment = await settledCharge();
        const refundOp = need(provider.refund, 'refund');
        const base = { paymentProviderId: payment.providerId, currency: payment.currency, reason: null, metadata: {} };
        await refundOp.call(provider, { ...base, amount: amount() - 1 }, CTX);
        const error = await rejection(() => refundOp.call(provider, { ...base, amount: 2 }, CTX));
        expect(isPayableError(error)).toBe(true);
        const read = await need(provider.getPayment, 'getPayment').call(provider, payment.providerId, CTX);
        expect(read.amountRefunded).toBe(amount() - 1);
      });
    }

    // ---- customers ---------------------------------------------------------------------------
    if (has('customers')) {
      test('createCustomer – returns the email and name given, with a providerId', async () => {
        const customer = await need(provider.createCustomer, 'createCustomer').call(
          provider,
          { email: 'ada@example.test', name: 'Ada Lovelace', metadata: {} },
          CTX,
        );
        expect(customer.providerId).toMatch(/\S/);
        expect(customer.email).toBe('ada@example.test');
        expect(customer.name).toBe('Ada Lovelace');
      });

      test('getCustomer – returns the customer as created', async () => {
        const created = await need(provider.createCustomer, 'createCustomer').call(
          provider,
          { email: 'grace@example.test', name: 'Grace Hopper', metadata: {} },
          CTX,
        );
        const read = await need(provider.getCustomer, 'getCustomer').call(provider, created.providerId, CTX);
        expect(read).toMatchObject({
          providerId: created.providerId,
          email: 'grace@example.test',
          name: 'Grace Hopper',
        });
      });

      test('getCustomer – an unknown id is NOT_FOUND', async () => {
        await expectCode(
          () => need(provider.getCustomer, 'getCustomer').call(provider, 'cus_does_not_exist_0000', CTX),
          'NOT_FOUND',
        );
      });
    }

    // ---- checkout ----------------------------------------------------------------------------
    if (has('checkout')) {
      test('createCheckout – payment mode returns an open session with an https url', async () => {
        const checkout = await need(provider.createCheckout, 'createCheckout').call(
          provider,
          {
            mode: 'payment',
            amount: amount(),
            currency: currency(),
            priceId: null,
            successUrl: 'https://shop.example.test/ok',
            cancelUrl: 'https://shop.example.test/cancel',
            customerProviderId: null,
            metadata: {},
          },
          CTX,
        );
        expect(checkout.providerId).toMatch(/\S/);
        expect(checkout.mode).toBe('payment');
        expect(checkout.status).toBe('open');
        expect(new URL(checkout.url).protocol).toBe('https:');
      });
    }

    // ---- subscriptions and invoices ----------------------------------------------------------
    if (has('customers') && has('subscriptions')) {
      const subscribe = async (trialDays: number | null) => {
        const customer = await need(provider.createCustomer, 'createCustomer').call(
          provider,
          { email: 'sub@example.test', name: null, metadata: {} },
          CTX,
        );
        return need(provider.subscribe, 'subscribe').call(
          provider,
          { customerProviderId: customer.providerId, priceId: 'price_conformance', trialDays, metadata: {} },
          CTX,
        );
      };

      test('subscribe – is active without a trial and trialing with one', async () => {
        const plain = await subscribe(null);
        expect(plain.status).toBe('active');
        const trial = await subscribe(14);
        expect(trial.status).toBe('trialing');
      });

      test('cancelSubscription – now sets canceled', async () => {
        const sub = await subscribe(null);
        const canceled = await need(provider.cancelSubscription, 'cancelSubscription').call(
          provider,
          sub.providerId,
          { atPeriodEnd: false },
          CTX,
        );
        expect(canceled.status).toBe('canceled');
      });

      test('cancelSubscription – at period end keeps the status and sets cancelAtPeriodEnd', async () => {
        const sub = await subscribe(null);
        const canceled = await need(provider.cancelSubscription, 'cancelSubscription').call(
          provider,
          sub.providerId,
          { atPeriodEnd: true },
          CTX,
        );
        expect(canceled.status).toBe(sub.status);
        expect(canceled.cancelAtPeriodEnd).toBe(true);
      });

      if (has('invoices')) {
        test("listInvoices – lists a subscription's invoices with integer amounts", async () => {
          const sub = await subscribe(null);
          const invoices = await need(provider.listInvoices, 'listInvoices').call(
            provider,
            { customerProviderId: sub.customerProviderId, subscriptionProviderId: sub.providerId, limit: 10 },
            CTX,
          );
          expect(invoices.length).toBeGreaterThan(0);
          for (const invoice of invoices) {
            expect(invoice.subscriptionProviderId).toBe(sub.providerId);
            expect(Number.isInteger(invoice.amount)).toBe(true);
            expect(Number.isInteger(invoice.amountPaid)).toBe(true);
          }
        });
      }
    }

    // ---- webhooks ----------------------------------------------------------------------------
    if (has('webhooks') && has('charges')) {
      const genuine = async (): Promise<{ delivery: SandboxDelivery; payment: ProviderPayment }> => {
        const payment = await settledCharge();
        return { delivery: await harness.signedEvent('payment.succeeded', payment.providerId), payment };
      };

      test('verifyWebhook – accepts a genuine delivery and returns the normalized event', async () => {
        const { delivery, payment } = await genuine();
        const event: NormalizedEvent = await verify(delivery);
        expect(event.id).toMatch(/\S/);
        expect(event.type).toBe('payment.succeeded');
        expect(event.providerType).toMatch(/\S/);
        expect(event.createdAt).toBeInstanceOf(Date);
        expect(Number.isNaN(event.createdAt.getTime())).toBe(false);
        if (event.object !== null || event.refetch !== true) {
          expect(event.object).toMatchObject({ kind: 'payment', providerId: payment.providerId });
        }
      });

      test('verifyWebhook – the same delivery twice gives the same event id', async () => {
        const { delivery } = await genuine();
        const first = await verify(delivery);
        const second = await verify({ rawBody: delivery.rawBody, headers: { ...delivery.headers } });
        expect(second.id).toBe(first.id);
      });

      test('verifyWebhook – rejects a tampered body with INVALID_WEBHOOK_SIGNATURE', async () => {
        const { delivery } = await genuine();
        await expectCode(() => verify({ ...delivery, rawBody: `${delivery.rawBody} ` }), 'INVALID_WEBHOOK_SIGNATURE');
        const digit = delivery.rawBody.search(/\d/);
        if (digit >= 0) {
          const changed = String((Number(delivery.rawBody[digit]) + 1) % 10);
          const rawBody = delivery.rawBody.slice(0, digit) + changed + delivery.rawBody.slice(digit + 1);
          await expectCode(() => verify({ ...delivery, rawBody }), 'INVALID_WEBHOOK_SIGNATURE');
        }
      });

      test('verifyWebhook – rejects a delivery without the signature header', async () => {
        const { delivery } = await genuine();
        const headers = { ...delivery.headers };
        delete headers[provider.signatureHeader];
        await expectCode(() => verify({ ...delivery, headers }), 'INVALID_WEBHOOK_SIGNATURE');
      });

      test('verifyWebhook – rejects a delivery signed with another secret', async () => {
        const { delivery } = await genuine();
        const forged = await harness.sign(delivery.rawBody, { secret: `${harness.secret}_wrong` });
        await expectCode(() => verify(forged), 'INVALID_WEBHOOK_SIGNATURE');
      });

      test('verifyWebhook – honours a secret override', async () => {
        const { delivery } = await genuine();
        const other = `${harness.secret}_tenant`;
        const signed = await harness.sign(delivery.rawBody, { secret: other });
        const event = await verify(signed, { secret: other });
        expect(event.type).toBe('payment.succeeded');
        await expectCode(() => verify(delivery, { secret: other }), 'INVALID_WEBHOOK_SIGNATURE');
      });

      test('verifyWebhook – honours a signature header override', async () => {
        const { delivery } = await genuine();
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(delivery.headers)) {
          headers[key === provider.signatureHeader ? 'x-custom-signature' : key] = value;
        }
        const event = await verify({ ...delivery, headers }, { signatureHeader: 'x-custom-signature' });
        expect(event.type).toBe('payment.succeeded');
      });

      if ((typeof sandbox === 'function' ? sandbox(probe) : sandbox).toleranceSeconds !== null) {
        test('verifyWebhook – rejects a timestamp older than the tolerance', async () => {
          const { delivery } = await genuine();
          const tolerance = harness.toleranceSeconds ?? 0;
          const stale = await harness.sign(delivery.rawBody, {
            at: new Date(now().getTime() - (tolerance + 60) * 1000),
          });
          await expectCode(() => verify(stale), 'INVALID_WEBHOOK_SIGNATURE');
        });

        test('verifyWebhook – rejects a timestamp ahead of the tolerance', async () => {
          const { delivery } = await genuine();
          const tolerance = harness.toleranceSeconds ?? 0;
          const ahead = await harness.sign(delivery.rawBody, {
            at: new Date(now().getTime() + (tolerance + 60) * 1000),
          });
          await expectCode(() => verify(ahead), 'INVALID_WEBHOOK_SIGNATURE');
        });

        test('verifyWebhook – accepts a timestamp inside the tolerance', async () => {
          const { delivery } = await genuine();
          const tolerance = harness.toleranceSeconds ?? 0;
          const recent = await harness.sign(delivery.rawBody, {
            at: new Date(now().getTime() - Math.floor(tolerance / 2) * 1000),
          });
          const event = await verify(recent);
          expect(event.type).toBe('payment.succeeded');
        });
      }

      test('verifyWebhook – rejects a signed body that is not JSON', async () => {
        // Providers verify the signature first; a genuine signature over a non-JSON body is a
        // payload error, unless the scheme cannot sign it at all (then a signature error).
        const signed = await harness.sign('this is not json {');
        await expectCode(() => verify(signed), ['INVALID_WEBHOOK_PAYLOAD', 'INVALID_WEBHOOK_SIGNATURE']);
      });

      test('verifyWebhook – rejects an empty body with a PayableError', async () => {
        const signed = await harness.sign('');
        const error = await rejection(() => verify(signed));
        expect(isPayableError(error)).toBe(true);
        expect(['INVALID_WEBHOOK_PAYLOAD', 'INVALID_WEBHOOK_SIGNATURE']).toContain((error as { code: string }).code);
      });
    }

    // ---- errors ------------------------------------------------------------------------------
    test('operations – every failure is a PayableError, never a raw error', async () => {
      const failing: (() => Promise<unknown>)[] = [
        () => provider.verifyWebhook({ payload: Buffer.from('garbage'), headers: {}, now: now() }),
        () =>
          provider.verifyWebhook({
            payload: Buffer.from('{}'),
            headers: { [provider.signatureHeader]: 'garbage' },
            now: now(),
          }),
      ];
      if (provider.getPayment)
        failing.push(() => need(provider.getPayment, 'getPayment').call(provider, 'missing_0000', CTX));
      if (provider.getCustomer)
        failing.push(() => need(provider.getCustomer, 'getCustomer').call(provider, 'missing_0000', CTX));
      if (has('refunds') && provider.refund) {
        failing.push(() =>
          need(provider.refund, 'refund').call(
            provider,
            { paymentProviderId: 'missing_0000', amount: 100, currency: currency(), reason: null, metadata: {} },
            CTX,
          ),
        );
      }
      if (has('subscriptions') && provider.cancelSubscription) {
        failing.push(() =>
          need(provider.cancelSubscription, 'cancelSubscription').call(
            provider,
            'missing_0000',
            { atPeriodEnd: false },
            CTX,
          ),
        );
      }
      if (has('customers') && has('subscriptions') && provider.subscribe) {
        failing.push(() =>
          need(provider.subscribe, 'subscribe').call(
            provider,
            { customerProviderId: 'missing_0000', priceId: 'price_conformance', trialDays: null, metadata: {} },
            CTX,
          ),
        );
      }
      for (const run of failing) {
        const error = await rejection(run);
        expect(isPayableError(error), `expected a PayableError, got ${String(error)}`).toBe(true);
      }
    });

    options.extra?.({ provider: () => provider, sandbox: () => harness, ctx: CTX });

    const unknown = Object.keys(disabled).filter((title) => !titles.has(title));
    if (unknown.length > 0) {
      it('conformance – every disabled title names a test of the suite', () => {
        expect(unknown, 'disabled titles that match no test').toEqual([]);
      });
    }
  });
}
