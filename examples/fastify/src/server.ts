import { buildApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const token = process.env.PAYABLE_API_TOKEN ?? 'dev-token';

const built = await buildApp({ logger: process.env.LOG === '1' });
await built.app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
const base = `http://localhost:${port}/payable`;
process.stdout.write(`Payable Fastify example listening on http://localhost:${port}

  Health:          curl ${base}/health
  Create payment:  curl -X POST ${base}/payments -H 'authorization: Bearer ${token}' \\
                     -H 'content-type: application/json' -H 'idempotency-key: order-1' \\
                     -d '{"amount":1999,"currency":"EUR","metadata":{"fake_outcome":"pending"}}'
  Webhooks:        POST ${base}/webhooks/fake (signed with FAKE_WEBHOOK_SECRET)
  Read it:         curl ${base}/payments/<id> -H 'authorization: Bearer ${token}'
  Your own route:  curl -X POST http://localhost:${port}/orders -H 'content-type: application/json' -d '{"amount":500}'
`);

const stop = (): void => {
  void built.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
