import { type AnyRecord, newId, type RecordByKind, type RecordKind } from '@payable/core';
import { expect } from 'vitest';
import {
  fixtureTime,
  makeCheckout,
  makeCustomer,
  makeInvoice,
  makePayment,
  makeRecord,
  makeRefund,
  makeSubscription,
  RECORD_KINDS,
} from './fixtures.js';
import { collectPages, concurrently, type DefineTest, must } from './harness.js';

const HASH = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const PREIMAGE = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** One record of each kind with every nullable field set and awkward values (unicode, ms dates). */
function fullRecords(): { [K in RecordKind]: RecordByKind[K] } {
  const tenantId = 'tenant-a';
  const metadata = { orderId: '42', note: 'café ☕ "quoted" \\ back\nslash', 'key with spaces': '' };
  const customer = makeCustomer({ tenantId, metadata, email: 'zoë@example.com', name: 'Zoë Ünïcode 🚀' });
  const payment = makePayment({
    tenantId,
    metadata,
    amount: 123_456_789,
    currency: 'BTC',
    status: 'succeeded',
    amountRefunded: 1000,
    customerId: customer.id,
    description: 'Order #42 — “special” ☕',
    expiresAt: fixtureTime(900.123),
    failureCode: 'card_declined',
    failureMessage: 'Your card was declined.',
    nextActionUrl: 'https://pay.example.com/next?x=1&y=2',
    createdAt: fixtureTime(-1.001),
    updatedAt: fixtureTime(1.999),
    lightning: {
      paymentRequest: 'lnbc1234560n1pj9x7s7pp5example',
      paymentHash: HASH,
      amountMsat: '123456789000',
      amountPaidMsat: '123456789000',
      preimage: PREIMAGE,
      quote: {
        fiatAmount: 1999,
        fiatCurrency: 'USD',
        sats: 123_456_789,
        rate: '61728.3950617',
        quotedAt: fixtureTime(-1.5),
      },
    },
  });
  return {
    customer,
    payment,
    refund: makeRefund({
      tenantId,
      metadata,
      paymentId: payment.id,
      status: 'succeeded',
      reason: 'requested_by_customer',
    }),
    subscription: makeSubscription({
      tenantId,
      metadata,
      customerId: customer.id,
      status: 'trialing',
      currentPeriodEnd: fixtureTime(30 * 86400 + 0.25),
      cancelAtPeriodEnd: true,
      canceledAt: fixtureTime(5.5),
      trialEnd: fixtureTime(14 * 86400),
    }),
    invoice: makeInvoice({
      tenantId,
      metadata,
      customerId: customer.id,
      subscriptionId: newId('sub'),
      status: 'paid',
      amountPaid: 2000,
      hostedUrl: 'https://invoice.example.com/in_1',
    }),
    checkout: makeCheckout({
      tenantId,
      metadata,
      mode: 'subscription',
      status: 'complete',
      customerId: customer.id,
      paymentId: payment.id,
      subscriptionId: newId('sub'),
      expiresAt: fixtureTime(3600.5),
    }),
  };
}

/** Every field whose value is a Date (at the top level of a record). */
function dateFields(record: object): string[] {
  return Object.entries(record)
    .filter(([, value]) => value instanceof Date)
    .map(([key]) => key);
}

/** Registers the billing-record tests. */
export function recordTests(test: DefineTest): void {
  test('insertRecord – stores a new record and returns it with inserted true', async (storage) => {
    const payment = makePayment({ metadata: { orderId: '42' } });
    const result = await storage.insertRecord('payment', payment);
    expect(result).toEqual({ inserted: true, record: payment });
    expect(await storage.getRecord('payment', payment.id, null)).toEqual(payment);
  });

  test('insertRecord – every record kind round-trips every field, with Dates as Date objects', async (storage) => {
    const records = fullRecords();
    for (const kind of RECORD_KINDS) {
      const record = records[kind];
      expect((await storage.insertRecord(kind, record)).inserted).toBe(true);
      const stored = must(await storage.getRecord(kind, record.id, record.tenantId), `the stored ${kind}`);
      expect(stored).toEqual(record);
      for (const key of dateFields(record)) {
        expect((stored as unknown as Record<string, unknown>)[key], `${kind}.${key}`).toBeInstanceOf(Date);
      }
    }
    const payment = must(await storage.getRecord('payment', records.payment.id, 'tenant-a'), 'the payment');
    expect(payment.lightning?.quote?.quotedAt).toBeInstanceOf(Date);
    expect(payment.lightning?.quote?.quotedAt.getTime()).toBe(fixtureTime(-1.5).getTime());
  });

  test('insertRecord – nullable fields come back as null, not undefined or empty', async (storage) => {
    const records: [RecordKind, AnyRecord][] = [
      ['customer', makeRecord('customer', { email: null, name: null })],
      ['payment', makeRecord('payment')],
      ['refund', makeRecord('refund')],
      ['subscription', makeRecord('subscription')],
      ['invoice', makeRecord('invoice')],
      ['checkout', makeRecord('checkout', { amount: null, currency: null })],
    ];
    for (const [kind, record] of records) {
      await storage.insertRecord(kind, record);
      const stored = must(await storage.getRecord(kind, record.id, null), `the stored ${kind}`);
      for (const [key, value] of Object.entries(record)) {
        if (value === null) expect((stored as unknown as Record<string, unknown>)[key], `${kind}.${key}`).toBeNull();
      }
      expect(stored).toEqual(record);
    }
  });

  test('insertRecord – integer amounts beyond 32 bits round-trip exactly as numbers', async (storage) => {
    const payment = makePayment({ amount: 2_100_000_000_000_000, amountRefunded: 2 ** 40 + 1, currency: 'BTC' });
    const invoice = makeInvoice({ amount: 9_007_199_254_740_991, amountPaid: 4_294_967_297 });
    await storage.insertRecord('payment', payment);
    await storage.insertRecord('invoice', invoice);
    const storedPayment = must(await storage.getRecord('payment', payment.id, null), 'the payment');
    const storedInvoice = must(await storage.getRecord('invoice', invoice.id, null), 'the invoice');
    expect(storedPayment.amount).toBe(2_100_000_000_000_000);
    expect(storedPayment.amountRefunded).toBe(2 ** 40 + 1);
    expect(storedInvoice.amount).toBe(9_007_199_254_740_991);
    expect(storedInvoice.amountPaid).toBe(4_294_967_297);
  });

  test('insertRecord – a duplicate (tenantId, provider, providerId) returns the stored record with inserted false', async (storage) => {
    const first = makePayment({ amount: 100 });
    await storage.insertRecord('payment', first);
    const second = makePayment({ providerId: first.providerId, amount: 999, status: 'succeeded' });
    const result = await storage.insertRecord('payment', second);
    expect(result.inserted).toBe(false);
    expect(result.record).toEqual(first);
    expect(await storage.getRecord('payment', second.id, null)).toBeNull();
    expect(await storage.getRecord('payment', first.id, null)).toEqual(first);
  });

  test('insertRecord – the same provider id under another tenant, provider or kind is a separate record', async (storage) => {
    const providerId = newId('shared');
    const payments = [
      makePayment({ providerId, tenantId: null }),
      makePayment({ providerId, tenantId: 'null' }),
      makePayment({ providerId, tenantId: 'tenant-a' }),
      makePayment({ providerId, tenantId: 'tenant-b' }),
      makePayment({ providerId, tenantId: null, provider: 'other' }),
    ];
    for (const payment of payments) expect((await storage.insertRecord('payment', payment)).inserted).toBe(true);
    const customer = makeCustomer({ providerId, tenantId: null });
    expect((await storage.insertRecord('customer', customer)).inserted).toBe(true);
    for (const payment of payments) {
      const found = await storage.findRecord('payment', {
        tenantId: payment.tenantId,
        provider: payment.provider,
        providerId,
      });
      expect(found?.id).toBe(payment.id);
    }
    expect((await storage.findRecord('customer', { tenantId: null, provider: 'fake', providerId }))?.id).toBe(
      customer.id,
    );
  });

  test('insertRecord – 50 concurrent inserts of one provider object store exactly one record', async (storage) => {
    const providerId = newId('fake_pay');
    const results = await concurrently(50, () => storage.insertRecord('payment', makePayment({ providerId })));
    const winners = results.filter((result) => result.inserted);
    expect(winners).toHaveLength(1);
    const winnerId = must(winners[0], 'the winning insert').record.id;
    expect(new Set(results.map((result) => result.record.id))).toEqual(new Set([winnerId]));
    const page = await storage.listRecords('payment', { tenantId: null, limit: 100 });
    expect(page.data.map((record) => record.id)).toEqual([winnerId]);
  });

  test('insertRecord – 50 concurrent inserts in a tenant store exactly one record', async (storage) => {
    const providerId = newId('fake_pay');
    const results = await concurrently(50, () =>
      storage.insertRecord('payment', makePayment({ providerId, tenantId: 'tenant-a' })),
    );
    expect(results.filter((result) => result.inserted)).toHaveLength(1);
    const page = await storage.listRecords('payment', { tenantId: 'tenant-a', limit: 100 });
    expect(page.data).toHaveLength(1);
  });

  test("insertRecord – changing the caller's objects afterwards does not change the stored record", async (storage) => {
    const payment = makePayment({ metadata: { a: '1' } });
    const snapshot = structuredClone(payment);
    const { record } = await storage.insertRecord('payment', payment);
    payment.status = 'failed';
    payment.metadata.a = 'changed';
    payment.createdAt.setTime(0);
    record.status = 'canceled';
    record.metadata.a = 'changed too';
    const read = must(await storage.getRecord('payment', snapshot.id, null), 'the payment');
    read.metadata.a = 'changed again';
    read.updatedAt.setTime(0);
    expect(await storage.getRecord('payment', snapshot.id, null)).toEqual(snapshot);
  });

  test('getRecord – a record is visible only within its own tenant', async (storage) => {
    const ofTenant = makePayment({ tenantId: 'tenant-a' });
    const single = makePayment({ tenantId: null });
    await storage.insertRecord('payment', ofTenant);
    await storage.insertRecord('payment', single);
    expect(await storage.getRecord('payment', ofTenant.id, 'tenant-a')).toEqual(ofTenant);
    expect(await storage.getRecord('payment', ofTenant.id, 'tenant-b')).toBeNull();
    expect(await storage.getRecord('payment', ofTenant.id, null)).toBeNull();
    expect(await storage.getRecord('payment', single.id, null)).toEqual(single);
    expect(await storage.getRecord('payment', single.id, 'tenant-a')).toBeNull();
    expect(await storage.getRecord('payment', single.id, 'null')).toBeNull();
  });

  test('getRecord – returns null for an unknown id and for a record of another kind', async (storage) => {
    const payment = makePayment();
    await storage.insertRecord('payment', payment);
    expect(await storage.getRecord('payment', newId('pay'), null)).toBeNull();
    expect(await storage.getRecord('refund', payment.id, null)).toBeNull();
    expect(await storage.getRecord('customer', payment.id, null)).toBeNull();
  });

  test('findRecord – finds by (tenantId, provider, providerId) and never across tenants, providers or kinds', async (storage) => {
    const payment = makePayment({ tenantId: 'tenant-a', provider: 'stripe' });
    await storage.insertRecord('payment', payment);
    const ref = { tenantId: 'tenant-a', provider: 'stripe', providerId: payment.providerId };
    expect(await storage.findRecord('payment', ref)).toEqual(payment);
    expect(await storage.findRecord('payment', { ...ref, tenantId: null })).toBeNull();
    expect(await storage.findRecord('payment', { ...ref, tenantId: 'tenant-b' })).toBeNull();
    expect(await storage.findRecord('payment', { ...ref, provider: 'paddle' })).toBeNull();
    expect(await storage.findRecord('payment', { ...ref, providerId: newId('fake_pay') })).toBeNull();
    expect(await storage.findRecord('refund', ref)).toBeNull();
  });

  test('updateRecord – replaces the stored record and returns true', async (storage) => {
    const payment = makePayment({ tenantId: 'tenant-a' });
    await storage.insertRecord('payment', payment);
    const updated = {
      ...payment,
      status: 'succeeded' as const,
      amountRefunded: 100,
      metadata: { orderId: '42', extra: 'yes' },
      description: 'paid in full',
      updatedAt: fixtureTime(10.5),
      lightning: {
        paymentRequest: 'lnbc1',
        paymentHash: HASH,
        amountMsat: '1000',
        amountPaidMsat: null,
        preimage: null,
        quote: null,
      },
    };
    expect(await storage.updateRecord('payment', updated)).toBe(true);
    expect(await storage.getRecord('payment', payment.id, 'tenant-a')).toEqual(updated);
    expect(
      await storage.findRecord('payment', {
        tenantId: 'tenant-a',
        provider: payment.provider,
        providerId: payment.providerId,
      }),
    ).toEqual(updated);
  });

  test('updateRecord – sets nullable fields back to null', async (storage) => {
    const full = fullRecords();
    for (const kind of ['payment', 'subscription', 'checkout'] as const) {
      const record = full[kind];
      await storage.insertRecord(kind, record);
    }
    const payment = {
      ...full.payment,
      description: null,
      expiresAt: null,
      failureCode: null,
      lightning: null,
      customerId: null,
    };
    const subscription = {
      ...full.subscription,
      currentPeriodEnd: null,
      canceledAt: null,
      trialEnd: null,
      cancelAtPeriodEnd: false,
    };
    const checkout = { ...full.checkout, expiresAt: null, paymentId: null };
    expect(await storage.updateRecord('payment', payment)).toBe(true);
    expect(await storage.updateRecord('subscription', subscription)).toBe(true);
    expect(await storage.updateRecord('checkout', checkout)).toBe(true);
    expect(await storage.getRecord('payment', payment.id, 'tenant-a')).toEqual(payment);
    expect(await storage.getRecord('subscription', subscription.id, 'tenant-a')).toEqual(subscription);
    expect(await storage.getRecord('checkout', checkout.id, 'tenant-a')).toEqual(checkout);
  });

  test('updateRecord – returns false and changes nothing for an unknown id or another tenant', async (storage) => {
    const payment = makePayment({ tenantId: 'tenant-a' });
    await storage.insertRecord('payment', payment);
    expect(await storage.updateRecord('payment', { ...payment, tenantId: 'tenant-b', status: 'failed' })).toBe(false);
    expect(await storage.updateRecord('payment', { ...payment, tenantId: null, status: 'failed' })).toBe(false);
    const unknown = makePayment();
    expect(await storage.updateRecord('payment', unknown)).toBe(false);
    expect(await storage.updateRecord('refund', makeRefund({ id: payment.id, tenantId: 'tenant-a' }))).toBe(false);
    expect(await storage.getRecord('payment', payment.id, 'tenant-a')).toEqual(payment);
    expect(await storage.getRecord('payment', unknown.id, null)).toBeNull();
    expect((await storage.listRecords('payment', { tenantId: null, limit: 10 })).data).toEqual([]);
    expect((await storage.listRecords('payment', { tenantId: 'tenant-b', limit: 10 })).data).toEqual([]);
  });

  test('listRecords – lists newest first by createdAt, then by id descending', async (storage) => {
    const older = makePayment({ createdAt: fixtureTime(-60) });
    const tiedFirst = makePayment({ createdAt: fixtureTime(0) });
    const tiedSecond = makePayment({ createdAt: fixtureTime(0) });
    const newest = makePayment({ createdAt: fixtureTime(60) });
    expect(tiedSecond.id > tiedFirst.id).toBe(true);
    for (const record of [tiedFirst, newest, older, tiedSecond]) await storage.insertRecord('payment', record);
    const page = await storage.listRecords('payment', { tenantId: null, limit: 10 });
    expect(page.data.map((record) => record.id)).toEqual([newest.id, tiedSecond.id, tiedFirst.id, older.id]);
    expect(page.data[0]).toEqual(newest);
    expect(page.hasMore).toBe(false);
    expect(page.nextCursor).toBeNull();
  });

  test('listRecords – pages with limit, hasMore and nextCursor until the last page', async (storage) => {
    const payments = Array.from({ length: 7 }, (_, i) => makePayment({ createdAt: fixtureTime(i) }));
    for (const payment of [...payments].reverse()) await storage.insertRecord('payment', payment);
    const first = await storage.listRecords('payment', { tenantId: null, limit: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.hasMore).toBe(true);
    expect(typeof first.nextCursor).toBe('string');
    const pages = await collectPages((cursor) => storage.listRecords('payment', { tenantId: null, limit: 3, cursor }));
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((record) => record.id)).toEqual(payments.map((payment) => payment.id).reverse());
  });

  test('listRecords – an exactly full last page reports hasMore false and nextCursor null', async (storage) => {
    for (let i = 0; i < 6; i++) await storage.insertRecord('payment', makePayment({ createdAt: fixtureTime(i) }));
    const first = await storage.listRecords('payment', { tenantId: null, limit: 3 });
    expect(first.hasMore).toBe(true);
    const second = await storage.listRecords('payment', { tenantId: null, limit: 3, cursor: first.nextCursor });
    expect(second.data).toHaveLength(3);
    expect(second.hasMore).toBe(false);
    expect(second.nextCursor).toBeNull();
    const all = await storage.listRecords('payment', { tenantId: null, limit: 6 });
    expect(all.data).toHaveLength(6);
    expect(all.hasMore).toBe(false);
    expect(all.nextCursor).toBeNull();
  });

  test('listRecords – an empty result is { data: [], hasMore: false, nextCursor: null }', async (storage) => {
    await storage.insertRecord('payment', makePayment({ tenantId: 'tenant-a' }));
    for (const kind of RECORD_KINDS) {
      expect(await storage.listRecords(kind, { tenantId: null, limit: 10 })).toEqual({
        data: [],
        hasMore: false,
        nextCursor: null,
      });
    }
  });

  test('listRecords – a cursor keeps its place when newer records arrive between pages', async (storage) => {
    const payments = Array.from({ length: 5 }, (_, i) => makePayment({ createdAt: fixtureTime(i) }));
    for (const payment of payments) await storage.insertRecord('payment', payment);
    const first = await storage.listRecords('payment', { tenantId: null, limit: 2 });
    expect(first.data.map((record) => record.id)).toEqual([payments[4]?.id, payments[3]?.id]);
    await storage.insertRecord('payment', makePayment({ createdAt: fixtureTime(100) }));
    const second = await storage.listRecords('payment', { tenantId: null, limit: 2, cursor: first.nextCursor });
    expect(second.data.map((record) => record.id)).toEqual([payments[2]?.id, payments[1]?.id]);
    const third = await storage.listRecords('payment', { tenantId: null, limit: 2, cursor: second.nextCursor });
    expect(third.data.map((record) => record.id)).toEqual([payments[0]?.id]);
    expect(third.hasMore).toBe(false);
  });

  test('listRecords – lists only the records of the queried tenant and kind', async (storage) => {
    const single = [makePayment(), makePayment()];
    const ofTenant = makePayment({ tenantId: 'tenant-a' });
    const ofNullString = makePayment({ tenantId: 'null' });
    for (const payment of [...single, ofTenant, ofNullString]) await storage.insertRecord('payment', payment);
    await storage.insertRecord('refund', makeRefund());
    const ids = async (tenantId: string | null) =>
      (await storage.listRecords('payment', { tenantId, limit: 10 })).data.map((record) => record.id).sort();
    expect(await ids(null)).toEqual(single.map((payment) => payment.id).sort());
    expect(await ids('tenant-a')).toEqual([ofTenant.id]);
    expect(await ids('null')).toEqual([ofNullString.id]);
    expect(await ids('tenant-b')).toEqual([]);
    expect((await storage.listRecords('refund', { tenantId: null, limit: 10 })).data).toHaveLength(1);
  });

  test('listRecords – filters by provider, customerId and status', async (storage) => {
    const cus1 = newId('cus');
    const cus2 = newId('cus');
    const p1 = makePayment({ provider: 'stripe', customerId: cus1, status: 'succeeded' });
    const p2 = makePayment({ provider: 'stripe', customerId: cus2, status: 'pending' });
    const p3 = makePayment({ provider: 'paddle', customerId: cus1, status: 'succeeded' });
    for (const payment of [p1, p2, p3]) await storage.insertRecord('payment', payment);
    const ids = async (filter: { provider?: string; customerId?: string; status?: string }) =>
      (await storage.listRecords('payment', { tenantId: null, limit: 10, ...filter })).data
        .map((record) => record.id)
        .sort();
    expect(await ids({ provider: 'stripe' })).toEqual([p1.id, p2.id].sort());
    expect(await ids({ customerId: cus1 })).toEqual([p1.id, p3.id].sort());
    expect(await ids({ status: 'succeeded' })).toEqual([p1.id, p3.id].sort());
    expect(await ids({ provider: 'stripe', status: 'succeeded' })).toEqual([p1.id]);
    expect(await ids({ provider: 'paddle', customerId: cus2 })).toEqual([]);
    const sub = makeSubscription({ customerId: cus1, status: 'active' });
    await storage.insertRecord('subscription', sub);
    await storage.insertRecord('subscription', makeSubscription({ customerId: cus2, status: 'canceled' }));
    const subs = await storage.listRecords('subscription', {
      tenantId: null,
      limit: 10,
      customerId: cus1,
      status: 'active',
    });
    expect(subs.data.map((record) => record.id)).toEqual([sub.id]);
  });
}
