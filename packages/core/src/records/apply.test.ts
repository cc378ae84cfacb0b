import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../facade/types.js';
import { domainEventJson, outboxMessagesFor, recordEventData, type ApplyResult } from './apply.js';
import type { CustomerRecord, PaymentRecord } from './types.js';

const now = new Date('2026-12-06T10:00:00.000Z');
const base = {
  tenantId: 'acme',
  provider: 'stripe',
  metadata: { order: 'A-1', note: 'quote " and \\ backslash, 🙂' },
  createdAt: new Date('2026-12-01T09:00:00.000Z'),
  updatedAt: now,
};
const payment: PaymentRecord = {
  ...base,
  id: 'pay_1',
  providerId: 'pi_1',
  amount: 1999,
  currency: 'EUR',
  status: 'succeeded',
  amountRefunded: 0,
  customerId: 'cus_1',
  description: null,
  expiresAt: new Date('2026-12-07T00:00:00.000Z'),
  failureCode: null,
  failureMessage: null,
  nextActionUrl: null,
  lightning: null,
};
const customer: CustomerRecord = { ...base, id: 'cus_1', providerId: 'cus_x', email: 'ada@example.com', name: 'Ada' };

function result<R extends PaymentRecord | CustomerRecord>(kind: 'payment' | 'customer', record: R): ApplyResult {
  return { kind, record, inserted: true, previousStatus: null, changed: true, stale: false } as ApplyResult;
}

describe('outboxMessagesFor', () => {
  it('a new succeeded payment gives payment.created and payment.succeeded, each payload the JSON of its DomainEvent', () => {
    const messages = outboxMessagesFor(result('payment', payment), now);
    expect(messages.map((m) => m.type)).toEqual(['payment.created', 'payment.succeeded']);
    for (const m of messages) {
      const expected: DomainEvent = {
        id: m.id,
        type: m.type,
        createdAt: now.toISOString(),
        tenantId: 'acme',
        data: recordEventData('payment', payment),
      };
      // Byte for byte what JSON.stringify of the event gives: receivers may sign or hash it.
      expect(m.payload).toBe(JSON.stringify(expected));
      expect(m.aggregateKey).toBe('payment:pay_1');
      expect(m.status).toBe('pending');
    }
    expect(new Set(messages.map((m) => m.id)).size).toBe(2);
    expect((JSON.parse(messages[0]?.payload ?? '') as { data: { expiresAt: string } }).data.expiresAt).toBe(
      '2026-12-07T00:00:00.000Z',
    );
  });

  it('a customer event carries no email or name (PII), in the payload or the data', () => {
    const [message] = outboxMessagesFor(result('customer', customer), now);
    expect(message?.type).toBe('customer.created');
    expect(message?.payload).not.toContain('ada@example.com');
    expect(message?.payload).not.toContain('"name"');
    expect(recordEventData('customer', customer)).toEqual({
      object: 'customer',
      id: 'cus_1',
      tenantId: 'acme',
      provider: 'stripe',
      providerId: 'cus_x',
      metadata: base.metadata,
      createdAt: '2026-12-01T09:00:00.000Z',
      updatedAt: '2026-12-06T10:00:00.000Z',
    });
  });

  it('no change, no message', () => {
    expect(outboxMessagesFor({ ...result('payment', payment), changed: false }, now)).toEqual([]);
  });
});

describe('domainEventJson', () => {
  it('equals JSON.stringify of the event for a null tenant and for ids that need escaping', () => {
    const data = { object: 'payment', n: 1, s: 'x"y' };
    for (const tenantId of [null, 't"1\\']) {
      const event = { id: 'evt_"1', type: 'payment.updated', createdAt: now.toISOString(), tenantId, data };
      expect(domainEventJson(event.id, event.type, event.createdAt, tenantId, JSON.stringify(data))).toBe(
        JSON.stringify(event),
      );
    }
  });
});
