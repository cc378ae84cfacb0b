import type { IncomingHttpHeaders } from 'node:http';
import { type DomainEvent, isPayableError, verifyWebhook } from '@payable/core';
import express, { type Express } from 'express';

/**
 * A request as the orders service received it, before verification: its headers and raw body.
 *
 * @example
 * ```ts
 * const seen: ReceivedRequest[] = [];
 * createOrdersService({ onRequest: (request) => seen.push(request) });
 * ```
 */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One event the orders service acted on.
 *
 * @example
 * ```ts
 * const [first]: HandledEvent[] = orders.inbox.handled;
 * first?.type; // 'payment.created'
 * ```
 */
export interface HandledEvent {
  /** The event id (also the `webhook-id` header): what deliveries are deduplicated on. */
  id: string;
  type: string;
  /** The id of the record the event is about (`data.id`), e.g. a payment id. */
  dataId: string | null;
}

/**
 * What the orders service has seen so far (in memory: it is a demo).
 *
 * @example
 * ```ts
 * orders.inbox.verified; // deliveries whose signature verified
 * orders.inbox.duplicates; // of those, the ones already handled (redeliveries, replays)
 * ```
 */
export interface OrdersInbox {
  /** Events handled, in arrival order, each once. */
  handled: HandledEvent[];
  /** Requests whose signature verified (handled + duplicates). */
  verified: number;
  /** Verified requests for an event already handled: answered 200, not handled again. */
  duplicates: number;
  /** Requests refused with 400 (bad or missing signature, stale timestamp). */
  rejected: number;
}

/**
 * Options of {@link createOrdersService}.
 *
 * @example
 * ```ts
 * const options: OrdersServiceOptions = { log: (line) => console.log(line) };
 * ```
 */
export interface OrdersServiceOptions {
  /** Where the service writes its log lines. Default: stdout. */
  log?: (line: string) => void;
  /** Called with every request to `/hooks/payable` before it is verified (tests capture requests). */
  onRequest?: (request: ReceivedRequest) => void;
}

/**
 * The orders service: an Express app (not listening yet) receiving Payable's webhooks at
 * `POST /hooks/payable`, what it has seen, and `useSecret(secret)` to hand it the endpoint's
 * signing secret once the endpoint is registered (until then it answers 503).
 *
 * @example
 * ```ts
 * const orders = createOrdersService();
 * orders.app.listen(3001);
 * const { secret } = await payable.endpoints.create({ url: 'http://127.0.0.1:3001/hooks/payable', events: ['payment.*'] });
 * orders.useSecret(secret);
 * ```
 */
export interface OrdersService {
  app: Express;
  inbox: OrdersInbox;
  useSecret(secret: string): void;
}

function dataIdOf(event: DomainEvent): string | null {
  const { data } = event;
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && typeof data.id === 'string') return data.id;
  return null;
}

/**
 * Build the orders service: another app of yours that reacts to Payable's events. It verifies each
 * delivery's signature over the raw body with `verifyWebhook` (400 when it does not verify),
 * deduplicates on the event id (deliveries are at least once), logs
 * `orders: <type> for <data.id>` and answers 200.
 *
 * @example
 * ```ts
 * const orders = createOrdersService({ log: (line) => process.stdout.write(`${line}\n`) });
 * orders.useSecret(endpoint.secret);
 * orders.app.listen(3001); // POST /hooks/payable
 * ```
 */
export function createOrdersService(options: OrdersServiceOptions = {}): OrdersService {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const inbox: OrdersInbox = { handled: [], verified: 0, duplicates: 0, rejected: 0 };
  // The ids of the events already handled. A demo keeps them in memory; in production this is a
  // unique key in your database, written in the same transaction as what the event changes.
  const seen = new Set<string>();
  let secret: string | null = null;

  const app = express();
  // express.raw keeps the exact bytes: the signature covers them, not re-serialized JSON.
  app.post('/hooks/payable', express.raw({ type: 'application/json' }), (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    options.onRequest?.({ headers: req.headers, body });
    if (secret === null) {
      res.status(503).json({ error: 'not ready: no endpoint secret yet' });
      return;
    }

    let event: DomainEvent;
    try {
      event = verifyWebhook({ payload: body, headers: req.headers, secret });
    } catch (error) {
      if (isPayableError(error) && error.code === 'INVALID_WEBHOOK_SIGNATURE') {
        inbox.rejected++;
        log(`orders: refused a delivery (${String(error.context.reason)})`);
        res.status(400).json({ error: 'invalid signature' });
        return;
      }
      throw error;
    }
    inbox.verified++;

    // Deduplicate on the event id: a redelivery, a retry after a lost answer, a replayed request.
    if (seen.has(event.id)) {
      inbox.duplicates++;
      log(`orders: ${event.type} ${event.id} already handled, skipped`);
      res.status(200).json({ received: true, duplicate: true });
      return;
    }
    seen.add(event.id);
    const handled: HandledEvent = { id: event.id, type: event.type, dataId: dataIdOf(event) };
    inbox.handled.push(handled);
    // Your business logic goes here: mark the order paid on payment.succeeded, and so on.
    log(`orders: ${handled.type} for ${handled.dataId ?? '(no id)'}`);
    res.status(200).json({ received: true, duplicate: false });
  });

  return {
    app,
    inbox,
    useSecret(value) {
      secret = value;
    },
  };
}
