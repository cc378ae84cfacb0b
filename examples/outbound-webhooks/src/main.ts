import { createServices } from './services.js';

// Both services in one process: `pnpm --filter @payable/example-outbound-webhooks start`.
const services = await createServices(process.env);
const { payments, orders, endpoint, apiToken } = services;
const auth = `-H 'authorization: Bearer ${apiToken}'`;

// The endpoint's secret is not printed: it went straight to the orders service.
process.stdout.write(`payments: listening on ${payments.url} (Payable's routes, outbox relay every 200 ms)
orders:   listening on ${orders.url} (POST /hooks/payable, verifies and deduplicates)
endpoint: ${endpoint.id} ${endpoint.reused ? 'reused, secret rotated' : 'registered'} for ${endpoint.events.join(', ')} -> ${endpoint.url}

  Create a payment (the same idempotency key returns the same payment: change it for a new one):
    curl -X POST ${payments.url}/payments ${auth} \\
      -H 'content-type: application/json' -H 'idempotency-key: order-1' \\
      -d '{"amount":1999,"currency":"EUR"}'
  Refund part of it (refund.* events):
    curl -X POST ${payments.url}/refunds ${auth} \\
      -H 'content-type: application/json' -H 'idempotency-key: refund-1' \\
      -d '{"paymentId":"<payment id>","amount":500}'
  The deliveries to the orders service:
    curl ${payments.url}/endpoints/${endpoint.id}/deliveries ${auth}
  One delivery with its attempt log:
    curl ${payments.url}/deliveries/<delivery id> ${auth}
  Send it again (the orders service sees a duplicate):
    curl -X POST ${payments.url}/deliveries/<delivery id>/redeliver ${auth}

`);

const stop = (): void => {
  void services.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
