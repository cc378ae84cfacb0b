import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { SystemClock } from '../clock/system-clock.js';
import type { Clock } from '../clock/types.js';
import type { EncryptionDriver } from '../encryption/types.js';
import { EncryptionKeyRequiredError, NotFoundError, OutboxStorageRequiredError } from '../errors/classes.js';
import { guardStorage, type PayableContext } from '../facade/context.js';
import { noopLogger } from '../logger/noop-logger.js';
import type { Logger } from '../logger/types.js';
import { SyncQueueDriver } from '../queue/sync-queue.js';
import type { Page } from '../records/types.js';
import type {
  StorageDriver,
  StoredDelivery,
  StoredDeliveryAttempt,
  StoredEndpoint,
  StoredOutboxMessage,
} from '../storage/types.js';
import { newId } from '../util/ids.js';
import { parseInput } from '../validation/schemas.js';
import { endpointCreateSchema, endpointUpdateSchema, graceMsSchema, limitSchema, matchesEvent } from './schemas.js';
import { sendWebhook } from './sender.js';
import { generateWebhookSecret, signWebhook } from './signing.js';
import type {
  DeliveryDetail,
  DeliveryView,
  EndpointCreateInput,
  EndpointScope,
  EndpointsApi,
  EndpointUpdateInput,
  EndpointView,
  EndpointWithSecret,
  OutboundOptions,
} from './types.js';
import { UrlGuard } from './url-guard.js';

const HOUR = 3_600_000;

/**
 * The default retry schedule: the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h) extended by two daily retries, 10 attempts over about 75.6 hours.
 *
 * @example
 * ```ts
 * createPayable({ providers, storage, outbound: { retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS.slice(0, 4) } });
 * ```
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  5_000,
  300_000,
  1_800_000,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
  24 * HOUR,
  24 * HOUR,
]);

/** Outbound settings with every default filled in. Internal. */
export interface OutboundSettings {
  allowPrivateNetworks: boolean;
  requireHttps: boolean;
  dnsServers: string[] | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  retryScheduleMs: readonly number[];
  rotationGraceMs: number;
  leaseMs: number;
  concurrency: number;
  userAgent: string;
  jitter: () => number;
}

/** Fill in the defaults of `createPayable({ outbound })`. Internal. */
export function outboundSettings(options: OutboundOptions = {}): OutboundSettings {
  return {
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    requireHttps: options.requireHttps ?? process.env.NODE_ENV === 'production',
    dnsServers: options.dnsServers,
    timeoutMs: options.timeoutMs ?? 15_000,
    maxResponseBytes: options.maxResponseBytes ?? 4096,
    retryScheduleMs: options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
    rotationGraceMs: options.rotationGraceMs ?? 24 * HOUR,
    leaseMs: options.leaseMs ?? 60_000,
    concurrency: Math.max(1, options.concurrency ?? 8),
    userAgent: options.userAgent ?? 'Payable-Webhooks/1',
    jitter: () => 0.8 + Math.random() * 0.4,
  };
}

function endpointView(row: StoredEndpoint): EndpointView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    url: row.url,
    events: [...row.events],
    scheme: row.scheme,
    description: row.description,
    status: row.status,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function deliveryView(row: StoredDelivery): DeliveryView {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' || row.status === 'processing' ? row.nextAttemptAt : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
  };
}

function pageOf<A, B>(page: Page<A>, map: (a: A) => B): Page<B> {
  return { data: page.data.map(map), hasMore: page.hasMore, nextCursor: page.nextCursor };
}

/**
 * Outbound webhooks: endpoint management (`payable.endpoints`), fan-out of outbox messages into
 * deliveries, and the delivery worker (signed POSTs through the SSRF guard, retries on the
 * schedule, a log row per attempt). Internal: reached through the facade.
 */
export class EndpointsService implements EndpointsApi {
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly guard: UrlGuard;

  constructor(
    private readonly ctx: PayableContext,
    private readonly settings: OutboundSettings,
  ) {
    this.guard = new UrlGuard({
      allowPrivateNetworks: settings.allowPrivateNetworks,
      requireHttps: settings.requireHttps,
      ...(settings.dnsServers ? { dnsServers: settings.dnsServers } : {}),
    });
  }

  private storage(): StorageDriver {
    if (!this.ctx.storage) {
      throw new OutboxStorageRequiredError(
        'Outbound webhooks need a storage driver: pass createPayable({ storage }) (e.g. KnexStorageDriver after migrate(knex)).',
      );
    }
    return this.ctx.storage;
  }

  private seal(id: string, field: 'secret' | 'previousSecret', value: string): string {
    return this.ctx.encryption ? this.ctx.encryption.encrypt(value, `endpoint:${id}:${field}`) : value;
  }

  private open(id: string, field: 'secret' | 'previousSecret', value: string): string {
    if (this.ctx.encryption) return this.ctx.encryption.decrypt(value, `endpoint:${id}:${field}`);
    if (!value.startsWith('whsec_')) {
      throw new EncryptionKeyRequiredError(
        `The secret of endpoint ${id} is encrypted: configure the same encryption driver (key) the app uses.`,
        { context: { endpointId: id } },
      );
    }
    return value;
  }

  /** The endpoint, or NOT_FOUND (also for another tenant's). */
  private async load(id: string, scope: EndpointScope | undefined): Promise<StoredEndpoint> {
    const storage = this.storage();
    const row = typeof id === 'string' && id.length > 0 ? await guardStorage(() => storage.getEndpoint(id)) : null;
    if (!row || (scope?.tenantId !== undefined && row.tenantId !== scope.tenantId)) {
      throw new NotFoundError(`No endpoint "${String(id)}".`, { context: { id: String(id) } });
    }
    return row;
  }

  private async loadDelivery(id: string, scope: EndpointScope | undefined): Promise<StoredDelivery> {
    const storage = this.storage();
    const row = typeof id === 'string' && id.length > 0 ? await guardStorage(() => storage.getDelivery(id)) : null;
    if (!row || (scope?.tenantId !== undefined && row.tenantId !== scope.tenantId)) {
      throw new NotFoundError(`No delivery "${String(id)}".`, { context: { id: String(id) } });
    }
    return row;
  }

  async create(input: EndpointCreateInput): Promise<EndpointWithSecret> {
    const i = parseInput(endpointCreateSchema, input, 'endpoint');
    const storage = this.storage();
    await this.guard.check(i.url);
    const now = this.ctx.clock.now();
    const id = newId('ep', now.getTime());
    const secret = generateWebhookSecret();
    const row: StoredEndpoint = {
      id,
      tenantId: i.tenantId ?? null,
      url: i.url,
      events: [...new Set(i.events)],
      scheme: i.scheme ?? 'standard-webhooks',
      description: i.description ?? null,
      secret: this.seal(id, 'secret', secret),
      previousSecret: null,
      previousSecretExpiresAt: null,
      status: 'enabled',
      disabledReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await guardStorage(() => storage.insertEndpoint(row));
    this.ctx.logger.info({ endpointId: id, events: row.events, scheme: row.scheme }, 'outbound endpoint created');
    return { ...endpointView(row), secret };
  }

  async list(
    query: EndpointScope & { status?: 'enabled' | 'disabled'; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<EndpointView>> {
    const storage = this.storage();
    const limit = query.limit === undefined ? 50 : parseInput(limitSchema, query.limit, 'limit');
    const page = await guardStorage(() =>
      storage.listEndpoints({
        limit,
        ...(query.tenantId !== undefined ? { tenantId: query.tenantId } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      }),
    );
    return pageOf(page, endpointView);
  }

  async get(id: string, scope?: EndpointScope): Promise<EndpointView> {
    return endpointView(await this.load(id, scope));
  }

  async update(id: string, input: EndpointUpdateInput, scope?: EndpointScope): Promise<EndpointView> {
    const i = parseInput(endpointUpdateSchema, input, 'endpoint');
    const storage = this.storage();
    const row = await this.load(id, scope);
    if (i.url !== undefined) await this.guard.check(i.url);
    const now = this.ctx.clock.now();
    const next: StoredEndpoint = {
      ...row,
      ...(i.url !== undefined ? { url: i.url } : {}),
      ...(i.events !== undefined ? { events: [...new Set(i.events)] } : {}),
      ...(i.scheme !== undefined ? { scheme: i.scheme } : {}),
      ...(i.description !== undefined ? { description: i.description } : {}),
      ...(i.enabled === true ? { status: 'enabled' as const, disabledReason: null } : {}),
      ...(i.enabled === false ? { status: 'disabled' as const, disabledReason: 'manual' } : {}),
      updatedAt: now,
    };
    await guardStorage(() =>
      storage.updateEndpoint(id, {
        url: next.url,
        events: next.events,
        scheme: next.scheme,
        description: next.description,
        status: next.status,
        disabledReason: next.disabledReason,
        updatedAt: now,
      }),
    );
    return endpointView(next);
  }

  disable(id: string, scope?: EndpointScope): Promise<EndpointView> {
    return this.update(id, { enabled: false }, scope);
  }

  async rotateSecret(id: string, options: EndpointScope & { graceMs?: number } = {}): Promise<EndpointWithSecret> {
    const storage = this.storage();
    const graceMs =
      options.graceMs === undefined
        ? this.settings.rotationGraceMs
        : parseInput(graceMsSchema, options.graceMs, 'graceMs');
    const row = await this.load(id, options);
    const now = this.ctx.clock.now();
    const secret = generateWebhookSecret();
    const current = this.open(id, 'secret', row.secret);
    const next: StoredEndpoint = {
      ...row,
      secret: this.seal(id, 'secret', secret),
      previousSecret: graceMs > 0 ? this.seal(id, 'previousSecret', current) : null,
      previousSecretExpiresAt: graceMs > 0 ? new Date(now.getTime() + graceMs) : null,
      updatedAt: now,
    };
    await guardStorage(() =>
      storage.updateEndpoint(id, {
        secret: next.secret,
        previousSecret: next.previousSecret,
        previousSecretExpiresAt: next.previousSecretExpiresAt,
        updatedAt: now,
      }),
    );
    this.ctx.logger.info({ endpointId: id, graceMs }, 'outbound endpoint secret rotated');
    return { ...endpointView(next), secret };
  }

  async deliveries(
    id: string,
    query: EndpointScope & {
      status?: 'pending' | 'processing' | 'delivered' | 'failed';
      limit?: number;
      cursor?: string | null;
    } = {},
  ): Promise<Page<DeliveryView>> {
    const storage = this.storage();
    await this.load(id, query);
    const limit = query.limit === undefined ? 50 : parseInput(limitSchema, query.limit, 'limit');
    const page = await guardStorage(() =>
      storage.listDeliveries({
        endpointId: id,
        limit,
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      }),
    );
    return pageOf(page, deliveryView);
  }

  async delivery(deliveryId: string, scope?: EndpointScope): Promise<DeliveryDetail> {
    const storage = this.storage();
    const row = await this.loadDelivery(deliveryId, scope);
    const attempts = await guardStorage(() => storage.listDeliveryAttempts(row.id));
    return {
      ...deliveryView(row),
      log: attempts.map((a) => ({
        attempt: a.attempt,
        startedAt: a.startedAt,
        durationMs: a.durationMs,
        responseStatus: a.responseStatus,
        responseBody: a.responseBody,
        error: a.error,
        nextAttemptAt: a.nextAttemptAt,
      })),
    };
  }

  async redeliver(deliveryId: string, scope?: EndpointScope): Promise<DeliveryView> {
    const storage = this.storage();
    const row = await this.loadDelivery(deliveryId, scope);
    const now = this.ctx.clock.now();
    const patch = {
      status: 'pending' as const,
      nextAttemptAt: now,
      lockedBy: null,
      lockedUntil: null,
      updatedAt: now,
    };
    await guardStorage(() => storage.updateDelivery(row.id, patch));
    this.ctx.logger.info({ deliveryId: row.id, endpointId: row.endpointId }, 'outbound delivery queued again');
    return deliveryView({ ...row, ...patch });
  }

  /**
   * Fan out outbox messages into deliveries for every enabled endpoint whose events and tenant
   * match (deduplicated by (endpoint, event) in storage, so a message handled twice after a crash
   * yields one delivery). Runs inside the relay, before the message is marked delivered.
   */
  async fanOut(messages: readonly StoredOutboxMessage[]): Promise<number> {
    const storage = this.storage();
    const endpoints = await this.enabledEndpoints(storage);
    if (endpoints.length === 0) return 0;
    const now = this.ctx.clock.now();
    const rows: StoredDelivery[] = [];
    for (const message of messages) {
      for (const ep of endpoints) {
        if (ep.tenantId !== null && ep.tenantId !== message.tenantId) continue;
        if (!matchesEvent(ep.events, message.type)) continue;
        rows.push({
          id: newId('dlv', now.getTime()),
          tenantId: message.tenantId,
          endpointId: ep.id,
          eventId: message.id,
          eventType: message.type,
          payload: message.payload,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          lockedBy: null,
          lockedUntil: null,
          lastStatus: null,
          lastError: null,
          createdAt: now,
          updatedAt: now,
          deliveredAt: null,
        });
      }
    }
    if (rows.length === 0) return 0;
    return guardStorage(() => storage.insertDeliveries(rows));
  }

  private async enabledEndpoints(storage: StorageDriver): Promise<StoredEndpoint[]> {
    const all: StoredEndpoint[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<StoredEndpoint> = await guardStorage(() =>
        storage.listEndpoints({ status: 'enabled', limit: 500, cursor }),
      );
      all.push(...page.data);
      cursor = page.hasMore ? page.nextCursor : null;
    } while (cursor !== null);
    return all;
  }

  async deliverOnce(options: { limit?: number } = {}): Promise<number> {
    const storage = this.storage();
    const limit = options.limit ?? 100;
    let handled = 0;
    let delivered = 0;
    const endpoints = new Map<string, StoredEndpoint | null>();
    while (handled < limit) {
      const now = this.ctx.clock.now();
      const lease = { owner: this.owner, now, until: new Date(now.getTime() + this.settings.leaseMs) };
      const batch = await guardStorage(() =>
        storage.claimDeliveries(lease, Math.min(this.settings.concurrency, limit - handled)),
      );
      if (batch.length === 0) break;
      handled += batch.length;
      // In order per endpoint (claim order), endpoints in parallel.
      const byEndpoint = new Map<string, StoredDelivery[]>();
      for (const d of batch) byEndpoint.set(d.endpointId, [...(byEndpoint.get(d.endpointId) ?? []), d]);
      const results = await Promise.all(
        [...byEndpoint.entries()].map(async ([endpointId, rows]) => {
          let ok = 0;
          for (const row of rows) {
            if (!endpoints.has(endpointId)) {
              endpoints.set(endpointId, await guardStorage(() => storage.getEndpoint(endpointId)));
            }
            if (await this.attempt(storage, row, endpoints.get(endpointId) ?? null, endpoints)) ok++;
          }
          return ok;
        }),
      );
      delivered += results.reduce((a, b) => a + b, 0);
    }
    return delivered;
  }

  /** One attempt of one claimed delivery. Never throws for a receiver's failure. */
  private async attempt(
    storage: StorageDriver,
    row: StoredDelivery,
    endpoint: StoredEndpoint | null,
    cache: Map<string, StoredEndpoint | null>,
  ): Promise<boolean> {
    const startedAt = this.ctx.clock.now();
    if (endpoint?.status !== 'enabled') {
      const reason = endpoint ? `endpoint disabled (${endpoint.disabledReason ?? 'manual'})` : 'endpoint deleted';
      await guardStorage(() =>
        storage.updateDelivery(
          row.id,
          { status: 'failed', lastError: reason, lockedBy: null, lockedUntil: null, updatedAt: startedAt },
          { owner: this.owner },
        ),
      );
      return false;
    }
    const secrets = [this.open(endpoint.id, 'secret', endpoint.secret)];
    if (
      endpoint.previousSecret !== null &&
      endpoint.previousSecretExpiresAt !== null &&
      endpoint.previousSecretExpiresAt.getTime() > startedAt.getTime()
    ) {
      secrets.push(this.open(endpoint.id, 'previousSecret', endpoint.previousSecret));
    }
    const headers = signWebhook({
      scheme: endpoint.scheme,
      id: row.eventId,
      timestamp: Math.floor(startedAt.getTime() / 1000),
      body: row.payload,
      secrets,
    });
    const result = await sendWebhook({
      url: endpoint.url,
      headers,
      body: row.payload,
      guard: this.guard,
      timeoutMs: this.settings.timeoutMs,
      maxResponseBytes: this.settings.maxResponseBytes,
      userAgent: this.settings.userAgent,
    });
    const attempts = row.attempts + 1;
    const at = this.ctx.clock.now();
    const gone = result.status === 410;
    const maxAttempts = this.settings.retryScheduleMs.length + 1;
    let nextAttemptAt: Date | null = null;
    if (!result.ok && !gone && attempts < maxAttempts) {
      const scheduled = Math.round((this.settings.retryScheduleMs[attempts - 1] ?? 0) * this.settings.jitter());
      const cap = Math.max(...this.settings.retryScheduleMs, 0);
      const wait = Math.max(scheduled, Math.min(result.retryAfterMs ?? 0, cap));
      nextAttemptAt = new Date(at.getTime() + wait);
    }
    const error = result.ok ? null : (result.error ?? `HTTP ${result.status ?? 'no response'}`);
    const log: StoredDeliveryAttempt = {
      id: newId('att', at.getTime()),
      deliveryId: row.id,
      endpointId: row.endpointId,
      attempt: attempts,
      startedAt,
      durationMs: Math.round(result.durationMs),
      responseStatus: result.status,
      responseBody: result.body,
      error,
      nextAttemptAt,
    };
    await guardStorage(() =>
      storage.transaction(async (tx) => {
        await tx.appendDeliveryAttempt(log);
        await tx.updateDelivery(
          row.id,
          {
            status: result.ok ? 'delivered' : nextAttemptAt ? 'pending' : 'failed',
            attempts,
            lastStatus: result.status,
            lastError: error,
            nextAttemptAt: nextAttemptAt ?? row.nextAttemptAt,
            deliveredAt: result.ok ? at : null,
            lockedBy: null,
            lockedUntil: null,
            updatedAt: at,
          },
          { owner: this.owner },
        );
        if (gone) {
          await tx.updateEndpoint(endpoint.id, { status: 'disabled', disabledReason: 'gone', updatedAt: at });
        }
      }),
    );
    if (gone) {
      cache.set(endpoint.id, { ...endpoint, status: 'disabled', disabledReason: 'gone' });
      this.ctx.logger.warn({ endpointId: endpoint.id }, 'outbound endpoint answered 410 Gone: disabled');
    }
    if (!result.ok) {
      this.ctx.logger.warn(
        {
          deliveryId: row.id,
          endpointId: row.endpointId,
          attempt: attempts,
          status: result.status,
          error: result.error,
          nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
        },
        'outbound delivery failed',
      );
    }
    return result.ok;
  }
}

/**
 * Options of {@link createEndpoints}.
 *
 * @example
 * ```ts
 * const options: EndpointsOptions = { storage, encryption, outbound: { allowPrivateNetworks: false } };
 * ```
 */
export interface EndpointsOptions {
  storage: StorageDriver;
  /** The encryption driver the app gives `createPayable` (endpoint secrets are encrypted with it). */
  encryption?: EncryptionDriver;
  clock?: Clock;
  logger?: Logger;
  outbound?: OutboundOptions;
}

/**
 * The endpoints API without a facade: for tools that manage endpoints but take no payments (the
 * `payable` CLI, an admin process). Same storage, same encryption key, same rules as
 * `payable.endpoints`.
 *
 * @example
 * ```ts
 * const endpoints = createEndpoints({ storage: new KnexStorageDriver(knex), encryption });
 * const { id, secret } = await endpoints.create({ url: 'https://orders.example.com/hooks', events: ['*'] });
 * ```
 */
export function createEndpoints(options: EndpointsOptions): EndpointsApi {
  const logger = options.logger ?? noopLogger;
  return new EndpointsService(
    {
      providers: {},
      storage: options.storage,
      queue: new SyncQueueDriver({ logger }),
      encryption: options.encryption ?? null,
      clock: options.clock ?? new SystemClock(),
      logger,
      hooks: {},
    },
    outboundSettings(options.outbound),
  );
}
