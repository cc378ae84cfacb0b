import { FakeProvider } from '@payable/testing';

// Sends the signed `payment.succeeded` webhook the fake provider would send for a payment, the
// way a real provider calls your webhook route.
const providerId = process.argv[2];
if (!providerId) {
  process.stderr.write('usage: pay <providerId>   (the providerId of a payment created with fake_outcome: pending)\n');
  process.exit(2);
}
const base = process.env.PAYABLE_URL ?? `http://localhost:${process.env.PORT ?? 3000}`;
const fake = new FakeProvider({ secret: process.env.FAKE_WEBHOOK_SECRET ?? 'whsec_quickstart_secret' });
const delivery = fake.eventFor('payment.succeeded', {
  providerId,
  status: 'succeeded',
  amount: Number(process.env.AMOUNT ?? 1999),
  currency: process.env.CURRENCY ?? 'EUR',
});
const res = await fetch(`${base}/webhooks/fake`, {
  method: 'POST',
  headers: { ...delivery.headers, 'content-type': 'application/json' },
  body: delivery.rawBody,
});
process.stdout.write(`${res.status} ${await res.text()}\n`);
