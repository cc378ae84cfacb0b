import { mkdirSync } from 'node:fs';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const token = process.env.PAYABLE_API_TOKEN ?? 'dev-token';
if (!process.env.PAYABLE_SQLITE_FILE) mkdirSync('.data', { recursive: true });

const example = await createApp();
const server = example.app.listen(port, () => {
  const base = `http://localhost:${port}`;
  const mode =
    example.mode === 'simulator'
      ? `the local Stripe simulator (${example.simulator?.url}); set STRIPE_SECRET_KEY for Stripe test mode`
      : `Stripe ${example.mode === 'stripe-live' ? 'LIVE' : 'test'} mode`;
  process.stdout.write(`Payable + Stripe example on ${base}, talking to ${mode}

  Pay an order:   curl -X POST ${base}/orders/42/pay -H 'content-type: application/json' \\
                    -d '{"amount":1999,"currency":"EUR"}'
  Read it:        curl ${base}/payable/payments/<id> -H 'authorization: Bearer ${token}'
${
  example.mode === 'simulator'
    ? `  Payer pays:     curl -X POST ${base}/dev/stripe/pay/<providerId>   (the simulator confirms and sends the signed webhook)\n`
    : `  Webhooks:       stripe listen --forward-to ${base}/payable/webhooks/stripe   (then set STRIPE_WEBHOOK_SECRET)\n`
}`);
});

const stop = () => {
  server.close();
  void example.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
