import type { PaymentRecord, PaymentStatus } from '@payable/core';

/**
 * Which part of the pay page a payment status shows, and the headline of `#status`. The browser
 * gets the same table, so the page rendered by the server and the page updated by polling agree.
 *
 * @example
 * ```ts
 * STATUS_VIEWS.succeeded; // { section: 'paid', headline: 'Paid' }
 * ```
 */
export const STATUS_VIEWS: Readonly<
  Record<PaymentStatus, { section: 'waiting' | 'paid' | 'expired' | 'problem'; headline: string }>
> = {
  pending: { section: 'waiting', headline: 'Waiting for payment' },
  requires_action: { section: 'waiting', headline: 'Waiting for payment' },
  processing: { section: 'waiting', headline: 'Payment arriving…' },
  succeeded: { section: 'paid', headline: 'Paid' },
  partially_refunded: { section: 'paid', headline: 'Paid (partially refunded)' },
  refunded: { section: 'problem', headline: 'Refunded' },
  expired: { section: 'expired', headline: 'Expired — create a new payment' },
  underpaid: { section: 'problem', headline: 'Underpaid — the invoice was paid short, contact the shop' },
  canceled: { section: 'problem', headline: 'Canceled — create a new payment' },
  failed: { section: 'problem', headline: 'Failed — create a new payment' },
};

/**
 * What `GET /pay/:id/status` answers: the fields the pay page needs, nothing more.
 *
 * @example
 * ```ts
 * const view: PaymentStatusView = statusView(await payable.getPayment(id));
 * view.status; // 'succeeded'
 * view.preimage; // '9f86d081…' (hex), the receipt
 * ```
 */
export interface PaymentStatusView {
  id: string;
  status: PaymentStatus;
  /** Satoshis. */
  amount: number;
  currency: string;
  expiresAt: string | null;
  paymentHash: string | null;
  /** The preimage (hex) once Payable has verified the settlement: the receipt. */
  preimage: string | null;
  /** Millisatoshis received, as a decimal string, once paid. */
  amountPaidMsat: string | null;
}

/**
 * The status view of a stored payment.
 *
 * @example
 * ```ts
 * res.json(statusView(await payable.getPayment(req.params.id)));
 * ```
 */
export function statusView(payment: PaymentRecord): PaymentStatusView {
  return {
    id: payment.id,
    status: payment.status,
    amount: payment.amount,
    currency: payment.currency,
    expiresAt: payment.expiresAt ? payment.expiresAt.toISOString() : null,
    paymentHash: payment.lightning?.paymentHash ?? null,
    preimage: payment.lightning?.preimage ?? null,
    amountPaidMsat: payment.lightning?.amountPaidMsat ?? null,
  };
}

/**
 * Escape text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b>"Tom & Jerry"</b>'); // '&lt;b&gt;&quot;Tom &amp; Jerry&quot;&lt;/b&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Satoshis as people read them: `2,100 sats (0.00002100 BTC)`, in integer arithmetic.
 *
 * @example
 * ```ts
 * formatSats(2100); // '2,100 sats'
 * formatBtc(2100); // '0.00002100 BTC'
 * ```
 */
export function formatSats(sats: number): string {
  return `${sats.toLocaleString('en-US')} ${sats === 1 ? 'sat' : 'sats'}`;
}

/**
 * Satoshis as a BTC decimal with 8 places, without floating point.
 *
 * @example
 * ```ts
 * formatBtc(150_000_000); // '1.50000000 BTC'
 * ```
 */
export function formatBtc(sats: number): string {
  const whole = Math.trunc(sats / 100_000_000);
  const fraction = String(sats % 100_000_000).padStart(8, '0');
  return `${whole}.${fraction} BTC`;
}

/**
 * `m:ss` for a number of seconds.
 *
 * @example
 * ```ts
 * formatCountdown(599); // '9:59'
 * ```
 */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  body { margin: 0; background: #f6f6f4; color: #1d1d1f; }
  main { max-width: 28rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border-radius: 12px;
    box-shadow: 0 1px 4px rgb(0 0 0 / 0.08); }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  [hidden] { display: none !important; }
  label, .label { display: block; font-weight: 600; margin: 0.8rem 0 0.4rem; }
  input { font-size: 1.1rem; padding: 0.5rem; width: 100%; box-sizing: border-box; }
  button { font-size: 1rem; padding: 0.6rem 1rem; border-radius: 8px; border: 0; background: #f7931a;
    color: #fff; cursor: pointer; margin-top: 0.8rem; }
  button.secondary { background: #e9e9ed; color: #1d1d1f; }
  .amount { font-size: 1.4rem; margin: 0; }
  .muted { color: #6e6e73; font-size: 0.9rem; }
  #status { font-size: 1.2rem; font-weight: 700; margin: 0.8rem 0; }
  body[data-status="succeeded"] #status { color: #1a7f37; }
  body[data-status="expired"] #status { color: #b42318; }
  #qr { display: block; width: 16rem; height: 16rem; margin: 0.5rem auto; }
  #qr svg { width: 100%; height: 100%; }
  code { display: block; word-break: break-all; font-size: 0.8rem; background: #f2f2f2; padding: 0.5rem;
    border-radius: 6px; }
  .error { color: #b42318; }
  .simulator { margin-top: 1.2rem; padding: 0.8rem; border: 2px dashed #8250df; border-radius: 8px; }
  .simulator strong { color: #8250df; }
`;

function layout(title: string, nonce: string, body: string, options: { status?: PaymentStatus } = {}): string {
  const status = options.status ? ` data-status="${escapeHtml(options.status)}"` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body${status}>
${body}
</body>
</html>
`;
}

/**
 * The checkout form: an amount in satoshis and a button, posting to `/checkout`.
 *
 * @example
 * ```ts
 * res.type('html').send(checkoutPage({ nonce, mode: 'simulator' }));
 * ```
 */
export function checkoutPage(options: {
  nonce: string;
  mode: 'simulator' | 'lnd';
  amount?: string;
  error?: string;
}): string {
  const error = options.error ? `<p class="error" id="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  const node =
    options.mode === 'simulator'
      ? 'Node: the in-process LND simulator (regtest invoices, no real money).'
      : 'Node: your LND node.';
  return layout(
    'Lightning checkout',
    options.nonce,
    `<main>
  <h1>Lightning checkout</h1>
  <form method="post" action="/checkout">
    <label for="amount">Amount (sats)</label>
    <input id="amount" name="amount" type="number" min="1" step="1" required value="${escapeHtml(options.amount ?? '2100')}">
    <button type="submit" id="checkout">Pay with Lightning</button>
  </form>
  ${error}
  <p class="muted">${node}</p>
</main>`,
  );
}

/**
 * The pay page: the invoice as a QR code, the amount, the payment request, a countdown to
 * `expiresAt`, and inline JavaScript that polls `statusUrl` every second and turns the page to
 * "Paid" (with the preimage as the receipt) or "Expired" by itself. `devPayAction`, when given,
 * adds the simulator's "pay this invoice" control.
 *
 * @example
 * ```ts
 * res.type('html').send(payPage({ nonce, payment, qrSvg, now: new Date(), statusUrl: `/pay/${payment.id}/status` }));
 * ```
 */
export function payPage(options: {
  nonce: string;
  payment: PaymentRecord;
  /** The QR code of the invoice, an `<svg>` element (from the `qrcode` package). */
  qrSvg: string;
  now: Date;
  statusUrl: string;
  devPayAction?: string;
}): string {
  const { payment, nonce } = options;
  const view = STATUS_VIEWS[payment.status];
  const paymentRequest = payment.lightning?.paymentRequest ?? '';
  const expiresAt = payment.expiresAt;
  const secondsLeft = expiresAt ? Math.ceil((expiresAt.getTime() - options.now.getTime()) / 1000) : 0;
  const hidden = (section: typeof view.section) => (view.section === section ? '' : ' hidden');
  const simulator = options.devPayAction
    ? `<form class="simulator" method="post" action="${escapeHtml(options.devPayAction)}">
      <p><strong>Simulator control</strong> — not part of a real checkout. It plays the payer's wallet:
      the in-process LND simulator settles this invoice and the page turns to "Paid" by itself.</p>
      <button type="submit" id="dev-pay" class="secondary">Simulator: pay this invoice</button>
    </form>`
    : '';
  const data = {
    statusUrl: options.statusUrl,
    expiresAt: expiresAt ? expiresAt.getTime() : null,
    serverNow: options.now.getTime(),
    status: payment.status,
    views: STATUS_VIEWS,
  };
  return layout(
    'Pay with Lightning',
    nonce,
    `<main id="payment">
  <h1>Pay with Lightning</h1>
  <p class="amount"><strong id="amount">${escapeHtml(formatSats(payment.amount))}</strong></p>
  <p class="muted">${escapeHtml(formatBtc(payment.amount))}</p>
  <p id="status" role="status" aria-live="polite">${escapeHtml(view.headline)}</p>
  <section id="waiting"${hidden('waiting')}>
    <a id="qr" href="lightning:${escapeHtml(paymentRequest)}" aria-label="QR code of the Lightning invoice: scan it with your wallet">${options.qrSvg}</a>
    <p>Expires in <strong id="countdown">${formatCountdown(secondsLeft)}</strong></p>
    <p class="label" id="payment-request-label">Lightning invoice</p>
    <code id="payment-request" aria-labelledby="payment-request-label">${escapeHtml(paymentRequest)}</code>
    <button type="button" id="copy" class="secondary">Copy invoice</button>
    ${simulator}
  </section>
  <section id="paid"${hidden('paid')}>
    <p>Payment received. Your receipt is the preimage the node revealed; its SHA-256 is the payment hash.</p>
    <p class="label" id="preimage-label">Preimage (receipt)</p>
    <code id="preimage" aria-labelledby="preimage-label">${escapeHtml(payment.lightning?.preimage ?? '')}</code>
    <p class="label" id="payment-hash-label">Payment hash</p>
    <code id="payment-hash" aria-labelledby="payment-hash-label">${escapeHtml(payment.lightning?.paymentHash ?? '')}</code>
  </section>
  <section id="expired"${hidden('expired')}>
    <p>This invoice can no longer be paid, and an expired invoice is never extended.</p>
    <p><a id="new-payment" href="/">Create a new payment</a></p>
  </section>
  <section id="problem"${hidden('problem')}>
    <p><a href="/">Create a new payment</a></p>
  </section>
</main>
<script nonce="${nonce}">
(() => {
  const data = ${JSON.stringify(data).replace(/</g, '\\u003c')};
  const skew = data.serverNow - Date.now();
  const countdown = document.getElementById('countdown');
  const sections = ['waiting', 'paid', 'expired', 'problem'];
  let status = data.status;
  const viewOf = (s) => data.views[s] || { section: 'problem', headline: s };
  const format = (seconds) => Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
  const tick = () => {
    if (data.expiresAt === null || viewOf(status).section !== 'waiting') return;
    const left = Math.max(0, Math.ceil((data.expiresAt - Date.now() - skew) / 1000));
    countdown.textContent = format(left);
  };
  const show = (payment) => {
    status = payment.status;
    const view = viewOf(status);
    document.body.dataset.status = status;
    document.getElementById('status').textContent = view.headline;
    for (const id of sections) document.getElementById(id).hidden = id !== view.section;
    if (payment.preimage) document.getElementById('preimage').textContent = payment.preimage;
  };
  const poll = async () => {
    try {
      const res = await fetch(data.statusUrl, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.ok) show(await res.json());
    } catch {
      // offline for a moment: try again on the next round
    }
    if (viewOf(status).section === 'waiting') setTimeout(poll, 1000);
  };
  document.getElementById('copy').addEventListener('click', () => {
    void navigator.clipboard?.writeText(document.getElementById('payment-request').textContent);
  });
  tick();
  setInterval(tick, 1000);
  if (viewOf(status).section === 'waiting') setTimeout(poll, 1000);
})();
</script>`,
    { status: payment.status },
  );
}

/**
 * A small error page (unknown payment, invalid form, a node that cannot be reached).
 *
 * @example
 * ```ts
 * res.status(404).type('html').send(errorPage({ nonce, title: 'Not found', message: 'No such payment.' }));
 * ```
 */
export function errorPage(options: { nonce: string; title: string; message: string }): string {
  return layout(
    options.title,
    options.nonce,
    `<main>
  <h1>${escapeHtml(options.title)}</h1>
  <p class="error" role="alert">${escapeHtml(options.message)}</p>
  <p><a href="/">Back to the checkout</a></p>
</main>`,
  );
}
