import 'reflect-metadata';
import { createApp } from './app.js';
import { PAYABLE_PREFIX } from './app-module.js';

const port = Number(process.env.PORT ?? 3000);
const { app, config } = await createApp();
app.enableShutdownHooks();
await app.listen(port);

const base = `http://localhost:${port}${PAYABLE_PREFIX}`;
const token = config.apiToken;
process.stdout.write(`Payable NestJS example listening on http://localhost:${port}

  Health:          curl ${base}/health
  Create payment:  curl -X POST ${base}/payments -H 'authorization: Bearer ${token}' \\
                     -H 'content-type: application/json' -H 'idempotency-key: order-1' \\
                     -d '{"amount":1999,"currency":"EUR","metadata":{"fake_outcome":"pending"}}'
  Read it:         curl ${base}/payments/<id> -H 'authorization: Bearer ${token}'
  Shop order:      curl -X POST http://localhost:${port}/shop/orders -H 'content-type: application/json' -d '{"orderId":"A-1"}'
  Paid orders:     curl http://localhost:${port}/shop/paid
  Webhooks:        POST ${base}/webhooks/fake (signed with FAKE_WEBHOOK_SECRET)
`);
