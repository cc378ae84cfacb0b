import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EndpointsApi, EndpointWithSecret } from '@payable/core';
import type { Express } from 'express';
import { createOrdersService, type OrdersInbox, type OrdersServiceOptions } from './orders.js';
import { createPaymentsService, type PaymentsService } from './payments.js';

/** The event types the orders service subscribes to. */
const EVENTS = ['payment.*', 'refund.*'];
const HOOK_PATH = '/hooks/payable';

/**
 * The two services, listening, and the endpoint that connects them.
 *
 * @example
 * ```ts
 * const services = await createServices(process.env);
 * services.payments.url; // 'http://127.0.0.1:3000'
 * await services.close();
 * ```
 */
export interface Services {
  payments: { url: string; payable: PaymentsService['payable'] };
  orders: { url: string; inbox: OrdersInbox };
  /**
   * The endpoint registered for the orders service. `secret` is its current signing secret
   * (handed to the orders service; never print or log it).
   */
  endpoint: { id: string; url: string; events: string[]; secret: string; reused: boolean };
  /** The bearer token of Payable's management routes. */
  apiToken: string;
  /** Stop the relay, close both servers and the database. */
  close(): Promise<void>;
}

/**
 * Extra wiring for tests.
 *
 * @example
 * ```ts
 * await createServices(env, { log: (line) => lines.push(line), onOrdersRequest: (r) => requests.push(r) });
 * ```
 */
export interface ServicesOptions {
  /** The orders service's log. Default: stdout. */
  log?: OrdersServiceOptions['log'];
  /** Sees every request the orders service receives, before verification. */
  onOrdersRequest?: OrdersServiceOptions['onRequest'];
}

function listen(app: Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(server)));
  });
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * The endpoint for `url`, with a secret the orders service can use. The secret of an endpoint is
 * shown once, at creation: when an earlier run already registered `url` (same SQLite file), its
 * secret is rotated with `graceMs: 0` (the old one stops signing at once) and the new one is used.
 * A real receiver keeps the secret it was given (a secret manager) and rotates on purpose.
 */
async function registerEndpoint(
  endpoints: EndpointsApi,
  url: string,
): Promise<EndpointWithSecret & { reused: boolean }> {
  let cursor: string | null = null;
  do {
    const page = await endpoints.list({ status: 'enabled', limit: 100, cursor });
    const existing = page.data.find((endpoint) => endpoint.url === url);
    if (existing) return { ...(await endpoints.rotateSecret(existing.id, { graceMs: 0 })), reused: true };
    cursor = page.nextCursor;
  } while (cursor !== null);
  const created = await endpoints.create({ url, events: EVENTS, description: 'orders service (example)' });
  return { ...created, reused: false };
}

/**
 * Start both services from the environment: the payments service (Payable's routes, SQLite under
 * `PAYABLE_DATA_DIR`, the outbox relay every 200 ms) on `PAYMENTS_PORT` (default 3000), the orders
 * service (`POST /hooks/payable`) on `ORDERS_PORT` (default 3001), both on 127.0.0.1, and the
 * endpoint that sends `payment.*` and `refund.*` events from the one to the other.
 * `PAYABLE_API_TOKEN` (default `dev-token`) guards the management routes. Port `0` picks a free one.
 *
 * @example
 * ```ts
 * const services = await createServices({ PAYABLE_DATA_DIR: '/tmp/demo', PAYMENTS_PORT: '0', ORDERS_PORT: '0' });
 * await fetch(`${services.payments.url}/payments`, { method: 'POST', headers: { authorization: 'Bearer dev-token' }, body: '{"amount":1999,"currency":"EUR"}' });
 * ```
 */
export async function createServices(env: NodeJS.ProcessEnv, options: ServicesOptions = {}): Promise<Services> {
  const dataDir = env.PAYABLE_DATA_DIR ?? '.data';
  const apiToken = env.PAYABLE_API_TOKEN ?? 'dev-token';
  mkdirSync(dataDir, { recursive: true });

  const payments = await createPaymentsService({ sqliteFile: join(dataDir, 'payable.sqlite'), apiToken });
  const orders = createOrdersService({
    ...(options.log ? { log: options.log } : {}),
    ...(options.onOrdersRequest ? { onRequest: options.onOrdersRequest } : {}),
  });

  const servers: Server[] = [];
  let endpoint: EndpointWithSecret & { reused: boolean };
  try {
    servers.push(await listen(orders.app, Number(env.ORDERS_PORT ?? 3001)));
    servers.push(await listen(payments.app, Number(env.PAYMENTS_PORT ?? 3000)));
    endpoint = await registerEndpoint(payments.payable.endpoints, `${urlOf(servers[0] as Server)}${HOOK_PATH}`);
  } catch (error) {
    await Promise.all(servers.map(stop));
    await payments.close();
    throw error;
  }
  const [ordersServer, paymentsServer] = servers as [Server, Server];

  orders.useSecret(endpoint.secret);
  // Relays the outbox: fans each event out to the matching endpoints and sends the due deliveries.
  // Started once the orders service has its secret, so nothing is sent before it can verify.
  payments.payable.outbox().start({ intervalMs: 200 });

  return {
    payments: { url: urlOf(paymentsServer), payable: payments.payable },
    orders: { url: urlOf(ordersServer), inbox: orders.inbox },
    endpoint: {
      id: endpoint.id,
      url: endpoint.url,
      events: endpoint.events,
      secret: endpoint.secret,
      reused: endpoint.reused,
    },
    apiToken,
    async close() {
      await payments.payable.outbox().stop();
      await Promise.all(servers.map(stop));
      await payments.close();
    },
  };
}
