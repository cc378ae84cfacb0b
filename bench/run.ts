/**
 * `pnpm bench`: the inbox throughput benchmark (issue 3) and the HTTP adapter benchmark (issue 4),
 * each Payable figure beside the hand-written code a user would otherwise write, and the L402
 * verification benchmark (issue 7), `@payable/l402` beside the `macaroon` library, in one run.
 * Results go to bench/results/<date>.json; a full run also renders docs/benchmarks.md from the
 * last two full runs.
 *
 * Flags: --quick (short run, docs untouched unless --docs), --only inbox|adapters|l402 (docs
 * untouched unless --docs), --events N,
 * --concurrency N, --duration S, --connections N, --frameworks express,fastify,nest,
 * --stacks sqlite,pg, --l402-rounds N, --l402-seconds S (per side per round), --profile / --no-profile,
 * --docs / --no-docs; --cleanup drops what an
 * interrupted run left behind (tables and Redis keys with the benchmark's prefixes) and exits;
 * --render only re-renders docs/benchmarks.md from the stored results.
 * Environment: BENCH_PROFILE_DIR=<dir> makes each adapter benchmark server write a CPU profile of
 * its measured load there (read it with bench/profile-summary.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Framework, Stack } from './adapter-server.js';
import { type AdapterResult, runAdapterScenario } from './adapters.js';
import { combineInbox, type InboxOptions, type InboxResult, type InboxSide } from './inbox.js';
import { runL402 } from './l402.js';
import { summarise } from './profile-summary.js';
import { cpuSplit } from './cpu-split.js';
import { countPayableStatements, countSqliteInlineStatements, sqliteEngineTime } from './query-count.js';
import { type BenchRun, type InboxEntry, latestRuns, renderReport } from './report.js';
import { dropPgTables, exited, forkBench, nextMessage, PG_URL, REDIS_URL } from './shared.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(root, 'bench', 'results');

function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const quick = flag('quick');
const only = option('only');
const SECTIONS = ['inbox', 'adapters', 'l402'];
if (only !== undefined && !SECTIONS.includes(only)) {
  process.stderr.write(`[bench] --only takes one of ${SECTIONS.join(', ')}, not "${only}"\n`);
  process.exit(2);
}
const settings = {
  // A run of one benchmark only (--only) is stored apart, so the report never mixes it with full runs.
  mode: quick ? ('quick' as const) : only !== undefined ? ('partial' as const) : ('full' as const),
  events: Number(option('events') ?? (quick ? 1000 : 5000)),
  warmupEvents: quick ? 200 : 300,
  concurrency: Number(option('concurrency') ?? 32),
  workers: 2,
  workerConcurrency: 16,
  duration: Number(option('duration') ?? (quick ? 3 : 12)),
  slice: 1.5,
  warmupSeconds: quick ? 1 : 1.5,
  connections: Number(option('connections') ?? 16),
  frameworks: (option('frameworks') ?? 'express,fastify,nest').split(',') as Framework[],
  stacks: (option('stacks') ?? 'sqlite,pg').split(',') as Stack[],
  profile: !quick && !flag('no-profile') ? true : flag('profile'),
  l402Rounds: Number(option('l402-rounds') ?? (quick ? 3 : 7)),
  l402RoundSeconds: Number(option('l402-seconds') ?? (quick ? 0.5 : 1)),
  l402WarmupSeconds: quick ? 0.5 : 1,
};
const writeDocs = flag('docs') || (settings.mode === 'full' && !flag('no-docs'));

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function serverVersions(): Promise<{ postgres: string; synchronousCommit: string; redis: string }> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  const sync = (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
    ?.synchronous_commit;
  await client.end();
  const redis = new Redis(REDIS_URL);
  const info = await redis.info('server');
  redis.disconnect();
  return {
    postgres: version ?? 'unknown',
    synchronousCommit: sync ?? 'unknown',
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
  };
}

/**
 * A fingerprint of the built packages under test (their dist/index.js), so two runs can be told
 * apart when the working tree changed between them without a commit.
 */
function buildFingerprint(): string {
  const hash = createHash('sha256');
  for (const pkg of ['core', 'storage-knex', 'queue-bullmq', 'express', 'fastify', 'nestjs', 'testing', 'l402']) {
    try {
      hash.update(readFileSync(join(root, 'packages', pkg, 'dist', 'index.js')));
    } catch {
      hash.update(`missing:${pkg}`);
    }
  }
  return hash.digest('hex').slice(0, 10);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function inbox(options: InboxOptions): Promise<InboxResult> {
  const child = forkBench('./inbox.ts', [JSON.stringify(options)]);
  const { result } = await nextMessage<{ type: 'result'; result: InboxResult }>(child, 'result');
  await exited(child);
  return result;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

if (flag('render')) {
  const runs = latestRuns(resultsDir, settings.mode, 2);
  writeFileSync(join(root, 'docs', 'benchmarks.md'), renderReport(runs, root));
  log(`docs/benchmarks.md rendered from ${runs.length} stored run(s)`);
  process.exit(0);
}

if (flag('cleanup')) {
  // Leftovers of an interrupted run: the benchmark's tables (unique prefixes) and Redis keys.
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const { rows } = await client.query<{ prefix: string }>(
    "SELECT DISTINCT substring(tablename from '^((?:bi|ba|bb|bq)[0-9a-f]{8}_)') AS prefix FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ '^(bi|ba|bb|bq)[0-9a-f]{8}_'",
  );
  await client.end();
  for (const { prefix } of rows) await dropPgTables(prefix);
  const redis = new Redis(REDIS_URL);
  let keys = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', 'bench-*', 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) keys += await redis.del(...found);
  } while (cursor !== '0');
  redis.disconnect();
  log(`cleanup: dropped the tables of ${rows.length} prefixes and ${keys} Redis keys`);
  process.exit(0);
}

const started = new Date();
const loadStart = loadavg();
const run: BenchRun = {
  mode: settings.mode,
  date: started.toISOString(),
  commit: gitCommit(),
  build: buildFingerprint(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    os: `${platform()} ${release()}`,
    ...(await serverVersions()),
  },
  loadStart,
  loadEnd: loadStart,
  seconds: 0,
  settings,
  inbox: [],
  adapters: [],
  statements: null,
  cpuSplit: null,
  profiles: null,
  l402: null,
};

if (only === undefined || only === 'inbox') {
  const base = {
    events: settings.events,
    warmup: settings.warmupEvents,
    concurrency: settings.concurrency,
    workers: settings.workers,
    workerConcurrency: settings.workerConcurrency,
    timeoutMs: 180_000,
  };
  log(
    `inbox: ${settings.events} events, concurrency ${settings.concurrency}, ${settings.workers} workers x ${settings.workerConcurrency}`,
  );
  // Two rounds of half the events each, the second in reverse order, so that a change in the
  // machine's background load hits every side alike.
  const half = Math.ceil(settings.events / 2);
  const measure = async (sides: readonly InboxSide[], options: Partial<InboxOptions>, phase: InboxEntry['phase']) => {
    const rounds = new Map<InboxSide, InboxResult[]>();
    for (const order of [sides, [...sides].reverse()]) {
      for (const side of order) {
        const r = await inbox({ ...base, ...options, side });
        rounds.set(side, [...(rounds.get(side) ?? []), r]);
      }
    }
    for (const side of sides) {
      const { latencies: _dropped, ...r } = combineInbox(rounds.get(side) ?? []);
      run.inbox.push({ ...r, phase });
      log(
        phase === 'with-workers'
          ? `  ${side}: received ${fmt(r.receivedPerSecond)}/s, processed ${fmt(r.processedPerSecond)}/s, p50 ${fmt(r.p50Ms, 1)} ms, p99 ${fmt(r.p99Ms, 1)} ms, errors ${r.errors}, not processed ${r.notProcessed}`
          : `  ${side} (receive only): ${fmt(r.receivedPerSecond)}/s, p50 ${fmt(r.p50Ms, 1)} ms, p99 ${fmt(r.p99Ms, 1)} ms, errors ${r.errors}`,
      );
    }
  };
  await measure(['baseline', 'payable', 'baseline-apply', 'baseline-same'], { events: half }, 'with-workers');
  await measure(
    ['baseline', 'payable', 'baseline-same'],
    { events: Math.ceil(Math.min(settings.events, 3000) / 2), workers: 0 },
    'receive-only',
  );
  run.statements = {
    ...(await countPayableStatements()),
    sqliteInline: await countSqliteInlineStatements(),
    sqliteEngine: await sqliteEngineTime(),
  };
  log('inbox: CPU per event by process (Node.js and PostgreSQL), in one process, no HTTP or Redis');
  run.cpuSplit = await cpuSplit();
  if (settings.profile) {
    const events = Math.min(1000, settings.events);
    const profiles: NonNullable<BenchRun['profiles']> = { events, sides: {} };
    for (const side of ['baseline', 'payable'] as const) {
      log(`inbox: profiling a ${side} run of ${events} events (not measured)`);
      const dir = mkdtempSync(join(tmpdir(), 'payable-prof-'));
      await inbox({ ...base, side, events, profileDir: dir });
      const files = readdirSync(dir);
      const top = (names: string[]) => {
        const summary = summarise(names.map((f) => join(dir, f)));
        return {
          busyMs: summary.busyMs,
          byPackage: summary.byPackage,
          byFunction: summary.byFunction.slice(0, 15),
        };
      };
      profiles.sides[side] = {
        web: top(files.filter((f) => f.startsWith('web'))),
        workers: top(files.filter((f) => f.startsWith('worker-'))),
      };
      rmSync(dir, { recursive: true, force: true });
    }
    run.profiles = profiles;
  }
}

if (only === undefined || only === 'adapters') {
  log(`adapters: ${settings.duration} s per side in ${settings.slice} s slices, ${settings.connections} connections`);
  for (const stack of settings.stacks) {
    for (const framework of settings.frameworks) {
      const results: AdapterResult[] = await runAdapterScenario(
        framework,
        stack,
        ['baseline', 'same', 'core', 'payable'],
        {
          duration: settings.duration,
          slice: settings.slice,
          warmup: settings.warmupSeconds,
          connections: settings.connections,
        },
      );
      run.adapters.push(...results);
      for (const r of results) {
        log(
          `  ${framework} ${stack} ${r.side}: ${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.p50Ms, 1)} ms, p99 ${fmt(r.p99Ms, 1)} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}, stored ${r.stored}/${r.answered2xx}`,
        );
      }
    }
  }
}

if (only === undefined || only === 'l402') {
  log(
    `l402: verifications per second on one core, @payable/l402 and the macaroon library interleaved, ${settings.l402Rounds} rounds of ${settings.l402RoundSeconds} s per side`,
  );
  const r = await runL402({
    rounds: settings.l402Rounds,
    roundSeconds: settings.l402RoundSeconds,
    warmupSeconds: settings.l402WarmupSeconds,
  });
  run.l402 = r;
  log(
    `  @payable/l402: median ${fmt(r.ours.median)}/s (rounds ${r.ours.perSecond.map((x) => fmt(x)).join(', ')}), ${fmt(r.ours.medianCpu)} per CPU second`,
  );
  log(
    `  ${r.library}: median ${fmt(r.theirs.median)}/s (rounds ${r.theirs.perSecond.map((x) => fmt(x)).join(', ')}), ${fmt(r.theirs.medianCpu)} per CPU second`,
  );
  log(
    `  ratio ${fmt(r.ratio, 2)}x; goal >= ${fmt(r.goalPerSecond)}/s and ahead of the library: ${r.ours.median >= r.goalPerSecond && r.ratio > 1 ? 'met' : 'NOT met'}`,
  );
}

run.loadEnd = loadavg();
run.seconds = (Date.now() - started.getTime()) / 1000;
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${run.date.replace(/[:.]/g, '-')}-${run.mode}.json`);
writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
log(`results: ${file} (${fmt(run.seconds)} s)`);

if (writeDocs) {
  const runs = latestRuns(resultsDir, run.mode, 2);
  writeFileSync(join(root, 'docs', 'benchmarks.md'), renderReport(runs, root));
  log(`docs/benchmarks.md written from ${runs.length} ${run.mode} run(s)`);
}
process.exit(0);
