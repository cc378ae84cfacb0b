import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const token = process.env.PAYABLE_API_TOKEN ?? 'dev-token';

const checkout = await createApp();
const server = checkout.app.listen(port, () => {
  const base = `http://localhost:${port}`;
  const node =
    checkout.mode === 'simulator'
      ? `the in-process LND simulator (regtest invoices, no real money).
  Set LND_REST_URL and LND_MACAROON (hex or file path), plus LND_TLS_CERT_PATH, for a real node.`
      : `your LND node at ${process.env.LND_REST_URL ?? '(options.lnd)'}.`;
  process.stdout.write(`Payable Lightning checkout on ${base}/
  Invoices come from ${node}

  Checkout:   open ${base}/ , enter an amount in sats, pay the QR code
${
  checkout.mode === 'simulator'
    ? `  Pay it:     the page's "Simulator: pay this invoice" button (POST ${base}/dev/pay/<id>)\n`
    : ''
}  Status:     curl ${base}/pay/<id>/status
  Payable:    curl ${base}/payable/health ; curl ${base}/payable/payments/<id> -H 'authorization: Bearer ${token}'
`);
});

if (checkout.mode === 'lnd') {
  void checkout.listener.ready.then(() => process.stdout.write('Connected to the invoice stream of the LND node.\n'));
}

const stop = (): void => {
  server.close();
  void checkout.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
