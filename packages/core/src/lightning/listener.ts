import { describeError, guardStorage, type PayableContext } from '../facade/context.js';
import type { NormalizedEvent, PaymentProvider, SettlementUpdate } from '../provider/types.js';
import type { RecordStore } from '../records/record-store.js';
import type { PaymentRecord } from '../records/types.js';
import type { StorageDriver } from '../storage/types.js';
import type { WebhookInbox } from '../webhooks/inbox.js';
import { lightningEventId } from './settlement.js';
import type { LightningListener, ListenBackoff } from './types.js';

/** One provider to listen to: its registered name and the provider. Internal. */
export interface ListenTarget {
  name: string;
  provider: PaymentProvider & Required<Pick<PaymentProvider, 'subscribeSettlements'>>;
}

const DEFAULT_BACKOFF: Required<ListenBackoff> = { initialMs: 250, maxMs: 30_000 };
const CATCH_UP_PAGE = 100;

/**
 * The storage key (`getCursor`/`setCursor`) of the settle index the listener recorded for a provider.
 *
 * @example
 * ```ts
 * await storage.getCursor(settleCursorName(null, 'lnd')); // '42': resumes after settle index 42
 * ```
 */
export function settleCursorName(tenantId: string | null, provider: string): string {
  return `lightning:settle:${tenantId ?? ''}:${provider}`;
}

/** Whether stream position `next` is past `current` (decimal indexes compare as numbers). */
function isAfter(next: string, current: string | null): boolean {
  if (current === null) return true;
  if (/^\d+$/.test(next) && /^\d+$/.test(current)) return BigInt(next) > BigInt(current);
  return next !== current;
}

/**
 * Feeds providers' settlement streams into the webhook inbox. Per provider: read the recorded
 * position, subscribe from it, store each update in the inbox (deduplicated on its stable id),
 * then record the update's position: a crash between the two replays the update (stored once),
 * never skips it. A dropped stream is resubscribed with exponential backoff (with jitter) from the
 * last recorded position. On a first run (no position recorded yet) the pending Lightning
 * payments are looked up once after connecting, so settlements from before the listener existed
 * are not missed either.
 */
export class SettlementListener implements LightningListener {
  readonly ready: Promise<void>;
  #received = 0;
  #stopped = false;
  readonly #abort = new AbortController();
  readonly #loops: Promise<void>[];
  readonly #backoff: Required<ListenBackoff>;

  constructor(
    private readonly ctx: PayableContext,
    private readonly storage: StorageDriver,
    private readonly store: RecordStore,
    private readonly inbox: WebhookInbox,
    targets: readonly ListenTarget[],
    private readonly tenantId: string | null,
    backoff: ListenBackoff = {},
  ) {
    this.#backoff = { ...DEFAULT_BACKOFF, ...backoff };
    const readies: Promise<void>[] = [];
    this.#loops = targets.map((target) => {
      let markReady: () => void = () => undefined;
      readies.push(
        new Promise<void>((resolve) => {
          markReady = resolve;
        }),
      );
      return this.#run(target, () => markReady());
    });
    this.ready = Promise.all(readies).then(() => undefined);
  }

  get received(): number {
    return this.#received;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await Promise.all(this.#loops);
  }

  async #run(target: ListenTarget, markReady: () => void): Promise<void> {
    const cursorName = settleCursorName(this.tenantId, target.name);
    const log = { provider: target.name, tenantId: this.tenantId };
    let failures = 0;
    while (!this.#stopped) {
      const connection = new AbortController();
      const stop = () => connection.abort();
      this.#abort.signal.addEventListener('abort', stop);
      let catchUp: Promise<void> | null = null;
      try {
        let cursor = await guardStorage(() => this.storage.getCursor(cursorName));
        const firstRun = cursor === null;
        const stream = target.provider.subscribeSettlements({
          cursor,
          signal: connection.signal,
          onConnected: () => {
            failures = 0;
            this.ctx.logger.info({ ...log, cursor }, 'lightning settlement stream connected');
            catchUp = firstRun ? this.#catchUp(target) : Promise.resolve();
            catchUp.then(markReady, (error: unknown) => {
              this.ctx.logger.warn({ ...log, error: describeError(error) }, 'lightning catch-up failed');
              markReady();
            });
          },
        });
        for await (const update of stream) {
          await this.#ingest(target.name, update);
          if (update.cursor !== null && isAfter(update.cursor, cursor)) {
            const next = update.cursor;
            await guardStorage(() => this.storage.setCursor(cursorName, next));
            cursor = next;
          }
        }
        if (!this.#stopped) this.ctx.logger.warn(log, 'lightning settlement stream ended; reconnecting');
      } catch (error) {
        if (this.#stopped) break;
        this.ctx.logger.warn(
          { ...log, error: describeError(error) },
          'lightning settlement stream failed; reconnecting',
        );
      } finally {
        this.#abort.signal.removeEventListener('abort', stop);
        connection.abort();
        if (catchUp) await (catchUp as Promise<void>).catch(() => undefined);
      }
      if (this.#stopped) break;
      failures++;
      await this.#pause(this.#delay(failures));
    }
  }

  async #ingest(provider: string, update: SettlementUpdate): Promise<void> {
    await this.inbox.ingest({ provider, tenantId: this.tenantId, event: update.event, payload: update.payload });
    this.#received++;
  }

  /**
   * First run: look up every pending or held Lightning payment of the provider and feed the ones
   * the node reports settled (or held) into the inbox under the stream's ids.
   */
  async #catchUp(target: ListenTarget): Promise<void> {
    const getPayment = target.provider.getPayment?.bind(target.provider);
    if (!getPayment) return;
    for (const status of ['pending', 'processing'] as const) {
      let cursor: string | null = null;
      do {
        const page = await guardStorage(() =>
          this.store.list(this.storage, 'payment', {
            tenantId: this.tenantId,
            provider: target.name,
            status,
            limit: CATCH_UP_PAGE,
            cursor,
          }),
        );
        for (const record of page.data) {
          if (this.#stopped) return;
          await this.#catchUpOne(target, record, getPayment);
        }
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
  }

  async #catchUpOne(
    target: ListenTarget,
    record: PaymentRecord,
    getPayment: NonNullable<PaymentProvider['getPayment']>,
  ): Promise<void> {
    if (!record.lightning) return;
    const fresh = await getPayment(record.providerId, { idempotencyKey: null, tenantId: this.tenantId });
    const state =
      fresh.status === 'succeeded' || fresh.status === 'underpaid'
        ? 'settled'
        : fresh.status === 'processing' && record.status === 'pending'
          ? 'accepted'
          : null;
    if (!state) return;
    const event: NormalizedEvent = {
      id: lightningEventId(target.provider.name, record.lightning.paymentHash, state),
      type: state === 'settled' ? 'payment.succeeded' : 'payment.processing',
      providerType: `lookup.${fresh.status}`,
      createdAt: this.ctx.clock.now(),
      object: { kind: 'payment', ...fresh },
    };
    await this.#ingest(target.name, { event, payload: JSON.stringify({ source: 'catch-up', state }), cursor: null });
  }

  #delay(failures: number): number {
    const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.#abort.signal.addEventListener('abort', done);
    });
  }
}
