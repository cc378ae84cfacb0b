import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const api = await createApp();
const server = api.app.listen(port, () => {
  const base = `http://localhost:${port}`;
  process.stdout.write(`L402 paywall example on ${base}/ (${api.simulator ? 'LND simulator: regtest, no real money' : 'your LND node'})

  1. Ask:    curl -i ${base}/api/joke          → 402, WWW-Authenticate: L402 macaroon="…", invoice="…"
${
  api.simulator
    ? `  2. Pay:    curl -s ${base}/dev/pay -H 'content-type: application/json' -d '{"invoice":"<invoice>"}'  → {"preimage":"…"}\n`
    : '  2. Pay:    pay the invoice with your wallet and copy the preimage (64 hex characters)\n'
}  3. Retry:  curl ${base}/api/joke -H 'Authorization: L402 <macaroon>:<preimage>'   → 200
  Or run the client: pnpm --filter @payable/example-l402-paywall client
`);
});

const stop = (): void => {
  server.close();
  void api.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
