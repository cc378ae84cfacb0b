/**
 * The hand-written webhook routes of the adapter benchmark: the route a user writes in each
 * framework without Payable, around the same verify + insert + enqueue (or process inline) work
 * (baseline-inbox.ts), or around `payable.webhooks.receive` (the "core" side: Payable without its
 * adapter). Each answers 200 `{ received: true, duplicate }`, 400 on a bad signature or body, a
 * PayableError's status, 500 otherwise.
 */
import 'reflect-metadata';
import { Controller, HttpCode, HttpException, Module, Post, Req, type RawBodyRequest } from '@nestjs/common';
import express, { type Express, type Request, type Response } from 'express';
import type { FastifyInstance } from 'fastify';
import { BadWebhookError } from './baseline-inbox.js';

/** verify + store (+ enqueue or process): the work every route does. */
export type ReceiveFn = (
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
) => Promise<{ duplicate: boolean }>;

/** The status a route answers for an error: 400 for a bad webhook, a PayableError's own status, else 500. */
export function statusOf(error: unknown): number {
  if (error instanceof BadWebhookError) return 400;
  const status = (error as { httpStatus?: unknown } | null)?.httpStatus;
  return typeof status === 'number' ? status : 500;
}

/** Where the routes live: the same path as Payable's `POST /payable/webhooks/fake`. */
export const WEBHOOK_PATH = '/payable/webhooks/fake';

/** Express: `express.raw()` for the exact bytes, then the work. */
export function mountExpressBaseline(app: Express, receive: ReceiveFn): void {
  app.post(WEBHOOK_PATH, express.raw({ type: '*/*', limit: '1mb' }), async (req: Request, res: Response) => {
    try {
      const { duplicate } = await receive(req.body as Buffer, req.headers);
      res.status(200).json({ received: true, duplicate });
    } catch (error) {
      res.status(statusOf(error)).json({ error: 'webhook refused' });
    }
  });
}

/** Fastify: a route in its own context with a Buffer content-type parser, then the work. */
export async function mountFastifyBaseline(app: FastifyInstance, receive: ReceiveFn): Promise<void> {
  await app.register(
    async (scope) => {
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.post('/webhooks/fake', async (request, reply) => {
        try {
          const { duplicate } = await receive(request.body as Buffer, request.headers);
          return reply.code(200).send({ received: true, duplicate });
        } catch (error) {
          return reply.code(statusOf(error)).send({ error: 'webhook refused' });
        }
      });
    },
    { prefix: '/payable' },
  );
}

/**
 * Nest: a controller reading `req.rawBody` (the app is created with `rawBody: true`), as a Nest user
 * writes it. Decorators are applied as calls (the benchmark runs through tsx, which does not emit
 * decorator metadata; this controller needs none).
 */
export function nestBaselineModule(receive: ReceiveFn): new () => object {
  class WebhookController {
    async handle(req: RawBodyRequest<Request>): Promise<{ received: true; duplicate: boolean }> {
      try {
        const { duplicate } = await receive(req.rawBody as Buffer, req.headers);
        return { received: true, duplicate };
      } catch (error) {
        throw new HttpException('webhook refused', statusOf(error));
      }
    }
  }
  const proto = WebhookController.prototype;
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'handle') as PropertyDescriptor;
  Req()(proto, 'handle', 0);
  HttpCode(200)(proto, 'handle', descriptor);
  Post('webhooks/fake')(proto, 'handle', descriptor);
  Controller('payable')(WebhookController);
  class BaselineModule {}
  Module({ controllers: [WebhookController] })(BaselineModule);
  return BaselineModule;
}
