import type { L402Paywall } from './l402-paywall.js';
import { lowerHeaders } from './request.js';
import type { L402Grant, L402RouteOptions } from './types.js';
import { responseText } from './write-response.js';

/**
 * The part of a Fastify request the paywall reads (typed structurally: `@payable/l402` does not
 * depend on Fastify). After a successful verification, `request.l402` holds the grant.
 *
 * @example
 * ```ts
 * app.get('/api/report', { preHandler: paywall.fastify({ price: 10 }) }, async (request) => ({ receipt: request.l402?.paymentHash }));
 * ```
 */
export interface L402FastifyRequest {
  method: string;
  url: string;
  headers: object;
  ip?: string;
  l402?: L402Grant | null;
}

/**
 * The part of a Fastify reply the paywall uses to answer.
 *
 * @example
 * ```ts
 * const reply: L402FastifyReply = fastifyReply;
 * ```
 */
export interface L402FastifyReply {
  code(statusCode: number): L402FastifyReply;
  header(name: string, value: string | string[]): L402FastifyReply;
  send(payload?: string): L402FastifyReply;
}

/**
 * A Fastify `preHandler` hook that charges for its route.
 *
 * @example
 * ```ts
 * const preHandler: L402FastifyPreHandler = paywall.fastify({ price: 10 });
 * ```
 */
export type L402FastifyPreHandler = (request: L402FastifyRequest, reply: L402FastifyReply) => Promise<unknown>;

/** Builds the Fastify preHandler of `paywall.fastify(route)`. Internal. */
export function fastifyPreHandler(paywall: L402Paywall, route: L402RouteOptions): L402FastifyPreHandler {
  paywall.checkRoute(route);
  return async (request, reply) => {
    const result = await paywall.verify(
      { method: request.method, path: request.url, headers: lowerHeaders(request.headers), ip: request.ip ?? null },
      route,
    );
    if (result.ok) {
      request.l402 = result.grant;
      return undefined;
    }
    const { response } = result;
    reply.code(response.status);
    for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
    return reply.send(responseText(response));
  };
}
