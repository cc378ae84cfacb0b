import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { createNodeListener } from '@payable/core';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const token = process.env.PAYABLE_API_TOKEN ?? 'dev-token';
mkdirSync('.data', { recursive: true });

const app = await createApp();
const listener = createNodeListener(app.payable, {
  // Management routes need a bearer token; webhooks and /health do not.
  authorize: (req) => req.headers.authorization === `Bearer ${token}`,
});
const server = createServer(listener);
server.listen(port, () => {
  const address = server.address();
  const base = `http://localhost:${typeof address === 'object' && address ? address.port : port}`;
  process.stdout.write(`Payable quickstart listening on ${base}

  Health:          curl ${base}/health
  Create payment:  curl -X POST ${base}/payments -H 'authorization: Bearer ${token}' \\
                     -H 'content-type: application/json' -H 'idempotency-key: order-1' \\
                     -d '{"amount":1999,"currency":"EUR","metadata":{"fake_outcome":"pending"}}'
  Pay it (sends a signed fake webhook to /webhooks/fake):
                   pnpm --filter @payable/example-quickstart pay <providerId from the answer>
  Read it:         curl ${base}/payments/<id> -H 'authorization: Bearer ${token}'
`);
});

const stop = () => {
  server.close();
  void app.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
