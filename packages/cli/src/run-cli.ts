import { parseArgs } from 'node:util';
import {
  createEndpoints,
  isPayableError,
  type DeliveryStatus,
  type EndpointsApi,
  type EndpointStatus,
  type EndpointUpdateInput,
  NodeEncryptionDriver,
  toWebhookEventView,
  type WebhookEventStatus,
  type WebhookScheme,
} from '@payable/core';
import { KnexStorageDriver, migrate, SCHEMA_VERSION, schemaVersion } from '@payable/storage-knex';
import knex, { type Knex } from 'knex';

/** Where the CLI writes. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE = `Usage: payable <command> [options]

Commands:
  migrate                      create or upgrade Payable's tables (reads DATABASE_URL)
  events list [--status S] [--limit N]
                               list stored webhook events, oldest first
  events show <eventId>        show one event (without its raw payload)
  events replay <eventId>      mark an event pending again so a worker processes it
                               (dispatched at once when REDIS_URL is set, else by the sweeper)
  endpoints create --url U --events a,b [--scheme standard-webhooks|payable-v1]
                   [--description D] [--tenant T]
                               register an outbound webhook endpoint (prints its secret once)
  endpoints list [--status enabled|disabled] [--limit N]
  endpoints show <endpointId>
  endpoints update <endpointId> [--url U] [--events a,b] [--scheme S] [--enable|--disable]
  endpoints disable <endpointId>
  endpoints rotate-secret <endpointId> [--grace-hours H]
                               new secret; the old one signs too for H hours (default 24)
  endpoints deliveries <endpointId> [--status S] [--limit N]
  deliveries show <deliveryId> the delivery and its attempt log
  deliveries redeliver <deliveryId>
                               send it again at the next relay round
  doctor                       check the database, schema version, event counts and Redis

Environment:
  DATABASE_URL   postgres://…, mysql://…, or sqlite:<file> / a file path (default: .data/payable.sqlite)
  REDIS_URL      redis://… (BullMQ; optional)
  PAYABLE_TABLE_PREFIX  table prefix (default payable_)
  PAYABLE_ENCRYPTION_KEY  the app's encryption key, when it encrypts (endpoint secrets are encrypted)
  PAYABLE_ALLOW_PRIVATE_NETWORKS=1  allow endpoint URLs on private addresses (development)
`;

/** A Knex instance for DATABASE_URL: postgres, mysql, or a SQLite file. */
export function knexFromUrl(url: string | undefined): Knex {
  if (url?.startsWith('postgres://') || url?.startsWith('postgresql://')) {
    return knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5000 });
  }
  if (url?.startsWith('mysql://')) {
    return knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5000 });
  }
  const filename = url ? url.replace(/^sqlite:(\/\/)?/, '') : '.data/payable.sqlite';
  return knex({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
}

const STATUSES: readonly WebhookEventStatus[] = ['pending', 'processing', 'processed', 'failed'];

async function dispatchReplay(redisUrl: string, eventId: string): Promise<boolean> {
  try {
    const { BullMQQueueDriver } = await import('@payable/queue-bullmq');
    const queue = new BullMQQueueDriver({ connection: redisUrl });
    try {
      await queue.dispatch('webhook.process', { eventId }, { jobId: `${eventId}-cli-${Date.now()}` });
      return true;
    } finally {
      await queue.close();
    }
  } catch {
    return false;
  }
}

/**
 * Run the `payable` command with `argv` (without `node` and the script) and return its exit code.
 *
 * @example
 * ```ts
 * const code = await runCli(['events', 'list', '--status', 'failed'], process.env);
 * ```
 */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      limit: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'string' },
      scheme: { type: 'string' },
      description: { type: 'string' },
      tenant: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
      'grace-hours': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  const tablePrefix = env.PAYABLE_TABLE_PREFIX ?? 'payable_';
  const db = knexFromUrl(env.DATABASE_URL);
  const storage = new KnexStorageDriver(db, undefined, { tablePrefix });
  try {
    switch (command) {
      case 'migrate': {
        await migrate(db, { tablePrefix });
        io.out(`migrated: schema version ${await schemaVersion(db, { tablePrefix })}\n`);
        return 0;
      }
      case 'events': {
        if (sub === 'list') {
          const status = values.status as WebhookEventStatus | undefined;
          if (status && !STATUSES.includes(status)) {
            io.err(`--status must be one of ${STATUSES.join(', ')}\n`);
            return 2;
          }
          const limit = Number(values.limit ?? 50);
          const page = await storage.listWebhookEvents({ limit, ...(status ? { status } : {}) });
          for (const e of page.data) {
            io.out(
              `${e.id}  ${e.status.padEnd(10)} ${e.provider.padEnd(10)} ${e.type.padEnd(24)} attempts=${e.attempts}${e.lastError ? `  ${e.lastError}` : ''}\n`,
            );
          }
          io.out(`${page.data.length} event(s)${page.hasMore ? ' (more: raise --limit)' : ''}\n`);
          return 0;
        }
        if ((sub === 'show' || sub === 'replay') && arg) {
          const event = await storage.getWebhookEvent(arg);
          if (!event) {
            io.err(`no webhook event ${arg}\n`);
            return 1;
          }
          if (sub === 'show') {
            io.out(`${JSON.stringify(toWebhookEventView(event), null, 2)}\n`);
            return 0;
          }
          if (event.status === 'processing' && event.lockedUntil && event.lockedUntil > new Date()) {
            io.err(`event ${arg} is being processed right now; try again later\n`);
            return 1;
          }
          // Pending with an old updatedAt: the next sweep of any worker picks it up.
          await storage.updateWebhookEvent(arg, {
            status: 'pending',
            lockedBy: null,
            lockedUntil: null,
            updatedAt: new Date(0),
          });
          const dispatched = env.REDIS_URL ? await dispatchReplay(env.REDIS_URL, arg) : false;
          io.out(
            dispatched
              ? `event ${arg} queued for processing\n`
              : `event ${arg} marked pending; a worker's sweeper will process it within a minute\n`,
          );
          return 0;
        }
        io.err(USAGE);
        return 2;
      }
      case 'endpoints':
      case 'deliveries': {
        const endpoints = createEndpoints({
          storage,
          ...(env.PAYABLE_ENCRYPTION_KEY
            ? { encryption: new NodeEncryptionDriver({ key: env.PAYABLE_ENCRYPTION_KEY }) }
            : {}),
          outbound: { allowPrivateNetworks: env.PAYABLE_ALLOW_PRIVATE_NETWORKS === '1' },
        });
        return await (command === 'endpoints'
          ? endpointsCommand(endpoints, sub, arg, values, io)
          : deliveriesCommand(endpoints, sub, arg, io));
      }
      case 'doctor':
        return await doctor(storage, db, tablePrefix, env, io);
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    io.err(
      `payable ${command}: ${isPayableError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  } finally {
    await db.destroy();
  }
}

type CliValues = Record<string, string | boolean | undefined>;

function list(value: string | boolean | undefined): string[] | undefined {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : undefined;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function endpointsCommand(
  endpoints: EndpointsApi,
  sub: string | undefined,
  id: string | undefined,
  values: CliValues,
  io: CliIo,
): Promise<number> {
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  switch (sub) {
    case 'create': {
      const url = str(values.url);
      const events = list(values.events);
      if (!url || !events) {
        io.err('endpoints create needs --url and --events (comma-separated, e.g. payment.*,refund.succeeded)\n');
        return 2;
      }
      const created = await endpoints.create({
        url,
        events,
        ...(values.scheme ? { scheme: str(values.scheme) as WebhookScheme } : {}),
        ...(values.description ? { description: str(values.description) ?? '' } : {}),
        ...(values.tenant ? { tenantId: str(values.tenant) ?? null } : {}),
      });
      io.out(json(created));
      io.out('keep the secret now: it is not shown again (rotate-secret makes a new one)\n');
      return 0;
    }
    case 'list': {
      const page = await endpoints.list({
        ...(values.status ? { status: str(values.status) as EndpointStatus } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      for (const e of page.data) {
        io.out(`${e.id}  ${e.status.padEnd(8)} ${e.scheme.padEnd(17)} ${e.url}  [${e.events.join(',')}]\n`);
      }
      io.out(`${page.data.length} endpoint(s)${page.hasMore ? ' (more: raise --limit)' : ''}\n`);
      return 0;
    }
    case 'show':
    case 'update':
    case 'disable':
    case 'rotate-secret':
    case 'deliveries': {
      if (!id) {
        io.err(`endpoints ${sub} needs an endpoint id\n`);
        return 2;
      }
      if (sub === 'show') io.out(json(await endpoints.get(id)));
      if (sub === 'disable') io.out(json(await endpoints.disable(id)));
      if (sub === 'update') {
        const input: EndpointUpdateInput = {};
        const url = str(values.url);
        const events = list(values.events);
        if (url) input.url = url;
        if (events) input.events = events;
        if (values.scheme) input.scheme = str(values.scheme) as WebhookScheme;
        if (values.description !== undefined) input.description = str(values.description) ?? null;
        if (values.enable) input.enabled = true;
        if (values.disable) input.enabled = false;
        io.out(json(await endpoints.update(id, input)));
      }
      if (sub === 'rotate-secret') {
        const hours = values['grace-hours'] === undefined ? undefined : Number(values['grace-hours']);
        io.out(json(await endpoints.rotateSecret(id, hours === undefined ? {} : { graceMs: hours * 3_600_000 })));
      }
      if (sub === 'deliveries') {
        const page = await endpoints.deliveries(id, {
          ...(values.status ? { status: str(values.status) as DeliveryStatus } : {}),
          ...(limit !== undefined ? { limit } : {}),
        });
        for (const d of page.data) {
          const next = d.nextAttemptAt ? `  next=${d.nextAttemptAt.toISOString()}` : '';
          io.out(
            `${d.id}  ${d.status.padEnd(10)} ${d.eventType.padEnd(24)} attempts=${d.attempts} last=${d.lastStatus ?? '-'}${next}\n`,
          );
        }
        io.out(
          `${page.data.length} ${page.data.length === 1 ? 'delivery' : 'deliveries'}${page.hasMore ? ' (more: raise --limit)' : ''}\n`,
        );
      }
      return 0;
    }
    default:
      io.err(USAGE);
      return 2;
  }
}

async function deliveriesCommand(
  endpoints: EndpointsApi,
  sub: string | undefined,
  id: string | undefined,
  io: CliIo,
): Promise<number> {
  if ((sub !== 'show' && sub !== 'redeliver') || !id) {
    io.err(USAGE);
    return 2;
  }
  if (sub === 'show') {
    io.out(json(await endpoints.delivery(id)));
    return 0;
  }
  await endpoints.redeliver(id);
  io.out(`delivery ${id} queued: the next relay round sends it\n`);
  return 0;
}

async function doctor(
  storage: KnexStorageDriver,
  db: Knex,
  tablePrefix: string,
  env: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<number> {
  let problems = 0;
  const ok = (text: string) => io.out(`ok    ${text}\n`);
  const warn = (text: string) => io.out(`warn  ${text}\n`);
  const fail = (text: string) => {
    problems++;
    io.out(`FAIL  ${text}\n`);
  };
  try {
    await storage.ping();
    ok(`database reachable (${storage.name})`);
  } catch (error) {
    fail(`database unreachable: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const version = await schemaVersion(db, { tablePrefix });
  if (version === SCHEMA_VERSION) ok(`schema version ${version}`);
  else fail(`schema version ${version}, expected ${SCHEMA_VERSION}: run \`payable migrate\``);
  if (version > 0) {
    const counts = await storage.countWebhookEvents();
    const line = STATUSES.map((s) => `${s}=${counts[s]}`).join(' ');
    if (counts.failed > 0) warn(`webhook events: ${line} (inspect with \`payable events list --status failed\`)`);
    else ok(`webhook events: ${line}`);
  }
  if (env.REDIS_URL) {
    try {
      const { checkRedisEviction } = await import('@payable/queue-bullmq');
      const eviction = await checkRedisEviction(env.REDIS_URL);
      if (eviction.noeviction) ok('redis maxmemory-policy noeviction');
      else warn(`redis maxmemory-policy is ${eviction.policy}: BullMQ needs noeviction or jobs can be lost`);
    } catch (error) {
      fail(`redis unreachable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems > 0 ? 1 : 0;
}
