import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One request the receiver got.
 *
 * @example
 * ```ts
 * const [first] = receiver.requests;
 * first.headers['webhook-id']; // 'evt_01J…'
 * ```
 */
export interface ReceivedWebhook {
  method: string;
  path: string;
  /** Header names lowercased. */
  headers: IncomingHttpHeaders;
  /** The exact body bytes as UTF-8. */
  body: string;
  /** The `webhook-id` header (the event id), or `null`. */
  webhookId: string | null;
  /** `false` when an earlier request carried the same `webhook-id` (a redelivery). */
  firstTime: boolean;
  receivedAt: Date;
}

/**
 * What the receiver answers: a status, optional headers and body. A function decides per request.
 *
 * @example
 * ```ts
 * const reply: ReceiverReply = { status: 503, headers: { 'retry-after': '120' } };
 * ```
 */
export interface ReceiverReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (to exercise timeouts). */
  delayMs?: number;
}

/**
 * Options of {@link startWebhookReceiver}.
 *
 * @example
 * ```ts
 * await startWebhookReceiver({ reply: (req) => (req.firstTime ? { status: 500 } : { status: 200 }) });
 * ```
 */
export interface WebhookReceiverOptions {
  /** Decide the answer; default 200 `{"ok":true}`. Queued replies (`receiver.replyNext`) go first. */
  reply?: (request: ReceivedWebhook) => ReceiverReply;
}

/**
 * A running receiver: a real HTTP server on 127.0.0.1.
 *
 * @example
 * ```ts
 * const receiver = await startWebhookReceiver();
 * await payable.endpoints.create({ url: receiver.url('/hooks'), events: ['*'] });
 * ```
 */
export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>` followed by `path`. */
  url(path?: string): string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: ReceivedWebhook[];
  /** Distinct `webhook-id`s seen: what a receiver that deduplicates by id processes. */
  readonly uniqueIds: ReadonlySet<string>;
  /** Answer the next requests with these replies, in order, before falling back to `reply`. */
  replyNext(...replies: ReceiverReply[]): void;
  /** Resolves once `count` requests have arrived (rejects after `timeoutMs`, default 10 s). */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/**
 * Start a webhook receiver for tests of outbound webhooks: a real HTTP server on 127.0.0.1 that
 * records every request, tells first deliveries from redeliveries by `webhook-id` (as a receiver
 * that deduplicates would), and answers what the test says. Verify signatures in the test with
 * `verifyWebhook` (or the `standardwebhooks` package) over `request.body` and `request.headers`.
 * Give `createPayable({ outbound: { allowPrivateNetworks: true } })` so Payable may call 127.0.0.1.
 *
 * @example
 * ```ts
 * const receiver = await startWebhookReceiver();
 * const { secret } = await payable.endpoints.create({ url: receiver.url(), events: ['payment.*'] });
 * await payable.charge({ amount: 500, currency: 'EUR' });
 * await payable.outbox().dispatchOnce();
 * verifyWebhook({ payload: receiver.requests[0].body, headers: receiver.requests[0].headers, secret });
 * await receiver.close();
 * ```
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const uniqueIds = new Set<string>();
  const queued: ReceiverReply[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const decide: (request: ReceivedWebhook) => ReceiverReply =
    options.reply ?? (() => ({ status: 200, body: '{"ok":true}' }));

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const idHeader = req.headers['webhook-id'];
      const webhookId = typeof idHeader === 'string' ? idHeader : null;
      const firstTime = webhookId === null || !uniqueIds.has(webhookId);
      if (webhookId !== null) uniqueIds.add(webhookId);
      const received: ReceivedWebhook = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        webhookId,
        firstTime,
        receivedAt: new Date(),
      };
      requests.push(received);
      for (const w of [...waiters]) {
        if (requests.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      const reply = queued.shift() ?? decide(received);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    requests,
    uniqueIds,
    url: (path = '/') => `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`,
    replyNext: (...replies) => {
      queued.push(...replies);
    },
    waitForRequests: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        if (requests.length >= count) {
          resolve(requests.slice(0, count));
          return;
        }
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} requests, got ${requests.length}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests.slice(0, count));
          },
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
