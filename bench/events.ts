import { FAKE_SIGNATURE_HEADER, FakeProvider, fakeSignatureValue } from '@payable/testing';
import { WEBHOOK_SECRET } from './shared.js';

/** One signed webhook delivery, as the provider sends it. */
export interface Delivery {
  rawBody: string;
  headers: Record<string, string>;
}

/** A `payment.succeeded` delivery of the fake provider for a payment of its own: one distinct event. */
function deliveryFor(fake: FakeProvider, eventId: string, paymentId: string): Delivery {
  return fake.eventFor(
    'payment.succeeded',
    { providerId: paymentId, status: 'succeeded', amount: 1999, currency: 'USD' } as Parameters<
      FakeProvider['eventFor']
    >[1],
    { id: eventId },
  );
}

/**
 * `count` distinct signed `payment.succeeded` deliveries (distinct event ids and distinct payments,
 * so neither dedupe nor per-object serialization short-circuits anything), signed now.
 */
export function makeDeliveries(count: number, tag: string): Delivery[] {
  const fake = new FakeProvider({ secret: WEBHOOK_SECRET });
  const out: Delivery[] = [];
  for (let i = 0; i < count; i++) out.push(deliveryFor(fake, `evt_${tag}_${i}`, `pay_${tag}_${i}`));
  return out;
}

/**
 * Signs a fresh, distinct delivery per call, for a load generator: the body is the fake provider's
 * own `payment.succeeded` body (made once by `eventFor`) with a new event id and payment id, signed
 * with the fake scheme at the current second.
 */
export function deliveryStream(tag: string): () => Delivery {
  const fake = new FakeProvider({ secret: WEBHOOK_SECRET });
  const template = deliveryFor(fake, 'evt_@ID@', 'pay_@ID@').rawBody;
  const [head, middle, tail] = template.split('@ID@') as [string, string, string];
  let n = 0;
  return () => {
    const id = `${tag}_${n++}`;
    const rawBody = head + id + middle + id + tail;
    return {
      rawBody,
      headers: {
        'content-type': 'application/json',
        [FAKE_SIGNATURE_HEADER]: fakeSignatureValue(WEBHOOK_SECRET, rawBody, Math.floor(Date.now() / 1000)),
      },
    };
  };
}
