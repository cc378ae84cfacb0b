import { decodeInvoice } from '@payable/lightning';
import { L402Client, type L402Wallet, LndWallet } from '@payable/l402';

/**
 * The wallet of the demo client: your LND node when `PAYER_LND_URL` and `PAYER_LND_MACAROON` are
 * set, else the example server's simulator (`POST /dev/pay`).
 *
 * @example
 * ```ts
 * const wallet = demoWallet('http://localhost:3000', process.env);
 * ```
 */
export function demoWallet(base: string, env: NodeJS.ProcessEnv): L402Wallet {
  if (env.PAYER_LND_URL && env.PAYER_LND_MACAROON) {
    return new LndWallet({ url: env.PAYER_LND_URL, macaroon: env.PAYER_LND_MACAROON });
  }
  return {
    async payInvoice(invoice) {
      const res = await fetch(`${base}/dev/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ invoice }),
      });
      if (!res.ok) throw new Error(`the simulator could not pay: HTTP ${res.status}`);
      return (await res.json()) as { preimage: string };
    },
  };
}

/** Fetches a joke twice and a report: one payment per endpoint, the token reused. */
export async function runClient(base: string, env: NodeJS.ProcessEnv = process.env): Promise<L402Client> {
  const client = new L402Client({ wallet: demoWallet(base, env), budgetSats: 100, decodeInvoice });
  for (const path of ['/api/joke', '/api/joke', '/api/report/2025']) {
    const res = await client.fetch(`${base}${path}`);
    process.stdout.write(`${path} → ${res.status} ${await res.text()}\n`);
  }
  process.stdout.write(`paid ${client.spentSats} sats (budget left: ${client.remainingSats})\n`);
  return client;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runClient(process.env.API_URL ?? 'http://localhost:3000');
}
