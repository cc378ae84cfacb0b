/**
 * Renders docs/benchmarks.md from stored benchmark runs (bench/results/*.json).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterResult } from './adapters.js';
import type { InboxResult, InboxSide } from './inbox.js';
import type { CpuSplit } from './cpu-split.js';
import type { L402Result } from './l402.js';
import type { SqliteEngineTime, StatementCounts } from './query-count.js';

/** An inbox measurement and the phase it belongs to. */
export type InboxEntry = InboxResult & { phase: 'with-workers' | 'receive-only' };

/** The top of a CPU profile summary. */
export interface ProfileTop {
  busyMs: number;
  byPackage: [string, number][];
  byFunction: [string, number][];
}

/** Everything one `pnpm bench` run measured. */
export interface BenchRun {
  mode: 'quick' | 'full' | 'partial';
  date: string;
  commit: string;
  /** Fingerprint of the built packages under test (dist/index.js). */
  build?: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    os: string;
    postgres: string;
    synchronousCommit: string;
    redis: string;
  };
  loadStart: number[];
  loadEnd: number[];
  seconds: number;
  settings: {
    mode: 'quick' | 'full' | 'partial';
    events: number;
    warmupEvents: number;
    concurrency: number;
    workers: number;
    workerConcurrency: number;
    duration: number;
    slice: number;
    warmupSeconds: number;
    connections: number;
    frameworks: string[];
    stacks: string[];
    profile: boolean;
    /** L402 benchmark: rounds, seconds per side per round, warm-up seconds per side (runs since issue 7). */
    l402Rounds?: number;
    l402RoundSeconds?: number;
    l402WarmupSeconds?: number;
  };
  inbox: InboxEntry[];
  adapters: AdapterResult[];
  statements: {
    receive: StatementCounts;
    process: StatementCounts;
    sqliteInline?: StatementCounts;
    sqliteEngine?: SqliteEngineTime;
  } | null;
  /** CPU per event by process, receive and process apart (absent in runs taken before it existed). */
  cpuSplit?: CpuSplit | null;
  /** CPU profiles of the measured phase of an extra, unmeasured inbox run per side. */
  profiles: {
    events: number;
    sides: Partial<Record<'baseline' | 'payable', { web: ProfileTop; workers: ProfileTop }>>;
  } | null;
  /** The L402 verification benchmark (absent in runs taken before it existed). */
  l402?: L402Result | null;
}

/** The last `count` runs of `mode` stored in `dir`, oldest first. */
export function latestRuns(dir: string, mode: BenchRun['mode'], count: number): BenchRun[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(`-${mode}.json`))
    .sort()
    .slice(-count)
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchRun);
}

const GOAL = 0.9;

function n0(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : Math.round(x).toLocaleString('en-US');
}

function n1(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1);
}

function pct(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${Math.round((100 * a) / b)} %`;
}

function times(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

function load(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(' / ');
}

function inboxOf(run: BenchRun, side: InboxResult['side'], phase: InboxEntry['phase']): InboxEntry | undefined {
  return run.inbox.find((r) => r.side === side && r.phase === phase);
}

/** How the adapter tables name each side. */
const SIDE_LABELS = {
  baseline: 'hand-written',
  same: 'hand-written, same work',
  core: 'core route',
  payable: '**adapter**',
} as const;

function adapterOf(run: BenchRun, framework: string, stack: string, side: string): AdapterResult | undefined {
  return run.adapters.find((r) => r.framework === framework && r.stack === stack && r.side === side);
}

const FRAMEWORK_NAMES: Record<string, string> = {
  express: 'Express',
  fastify: 'Fastify',
  nest: 'Nest (Express platform)',
};
const STACK_NAMES: Record<string, string> = {
  sqlite: 'SQLite + sync queue (processed in the request)',
  pg: 'PostgreSQL + BullMQ (enqueued, no worker running)',
};

function met(ratios: (number | undefined)[]): string {
  const known = ratios.filter((r): r is number => r !== undefined && Number.isFinite(r));
  if (known.length === 0) return '–';
  if (known.every((r) => r >= GOAL)) return 'yes';
  if (known.every((r) => r < GOAL)) return '**no**';
  return 'mixed';
}

/**
 * The lowest and highest of the per-round ratios of two sides' slices (round i of one side against
 * round i of the other, taken seconds apart), as `min–max %`; `''` when a run kept no slices.
 */
function roundSpread(a: AdapterResult | undefined, b: AdapterResult | undefined): string {
  const xs = a?.slices;
  const ys = b?.slices;
  if (!xs || !ys || xs.length === 0 || xs.length !== ys.length) return '';
  const ratios = xs.map((x, i) => x / (ys[i] as number)).filter((v) => Number.isFinite(v));
  if (ratios.length === 0) return '';
  return `${Math.round(100 * Math.min(...ratios))}–${Math.round(100 * Math.max(...ratios))} %`;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function runLabel(i: number, run: BenchRun): string {
  return `run ${i + 1} (${run.date.slice(0, 16).replace('T', ' ')} UTC)`;
}

/** Render the whole report. */
export function renderReport(runs: readonly BenchRun[], root: string): string {
  const last = runs[runs.length - 1];
  if (!last) return '# Benchmarks\n\nNo runs yet: `pnpm bench`.\n';
  const s = last.settings;
  const out: string[] = [];
  const p = (line = '') => out.push(line);

  p('# Benchmarks');
  p();
  p(
    '<!-- Generated by `pnpm bench` (bench/run.ts, bench/report.ts) from the last two full runs in bench/results/. Do not edit by hand. -->',
  );
  p();
  p('Speed is measured here, in `pnpm bench`, never in timed unit tests. Every Payable figure stands');
  p('beside the hand-written code a user would otherwise write, measured in the same run, on the same');
  p('machine, against the same PostgreSQL and Redis. The goal stated in issues 3 and 4 is that Payable');
  const lastRatios = [
    ratio(
      inboxOf(last, 'payable', 'with-workers')?.receivedPerSecond,
      inboxOf(last, 'baseline-same', 'with-workers')?.receivedPerSecond,
    ),
    ratio(
      inboxOf(last, 'payable', 'with-workers')?.processedPerSecond,
      inboxOf(last, 'baseline-same', 'with-workers')?.processedPerSecond,
    ),
    ...last.settings.stacks.flatMap((stack) =>
      last.settings.frameworks.map((fw) =>
        ratio(
          adapterOf(last, fw, stack, 'payable')?.requestsPerSecond,
          adapterOf(last, fw, stack, 'same')?.requestsPerSecond,
        ),
      ),
    ),
  ].filter((v): v is number => v !== undefined && Number.isFinite(v));
  const misses = lastRatios.filter((v) => v < GOAL).length;
  p(`reaches at least ${GOAL * 100} % of the throughput of hand-written code doing the same work: issue 3 names`);
  p('"a hand-written baseline that does the same durable work", issue 4 "a hand-written route doing the same');
  p('verify + insert + enqueue". Those comparisons are against hand-written code that writes the rows Payable');
  p('writes (the event with its normalized form; processed, the payment with its record and the outbox');
  p('messages) with `pg`, better-sqlite3 and BullMQ, no library in between (bench/baseline-same.ts).');
  p('Narrower hand-written code, which writes less (a smaller event row, no normalized event, no record');
  p('JSON, no outbox message), is measured beside it and shown too: it is the floor of what a webhook');
  p('receiver costs, not the same work.');
  p(
    misses === 0
      ? `In the last run it does, in all ${lastRatios.length} comparisons with the hand-written code doing the same work (inbox received and processed, each adapter on each stack). Against the narrower code it does not everywhere: see the summary and "Where the time goes".`
      : `In the last run it does not, in ${misses} of ${lastRatios.length} comparisons with the hand-written code doing the same work: see the summary and "Where the time goes".`,
  );
  p();

  // Machine
  p('## Machine');
  p();
  p('| | |');
  p('|---|---|');
  p(`| CPU | ${last.machine.cpu} |`);
  p(`| Cores | ${last.machine.cores} |`);
  p(`| Memory | ${last.machine.memoryGiB.toFixed(1)} GiB |`);
  p(`| Node.js | ${last.machine.node} |`);
  p(`| OS | ${last.machine.os} |`);
  p(`| PostgreSQL | ${last.machine.postgres} (local, \`synchronous_commit = ${last.machine.synchronousCommit}\`) |`);
  p(`| Redis | ${last.machine.redis} (local) |`);
  p();
  p('| run | date (UTC) | load average 1/5/15 min at start | at end | duration | commit | build |');
  p('|---|---|---|---|---|---|---|');
  runs.forEach((r, i) => {
    p(
      `| ${i + 1} | ${r.date.slice(0, 19).replace('T', ' ')} | ${load(r.loadStart)} | ${load(r.loadEnd)} | ${Math.round(r.seconds)} s | ${r.commit} | ${r.build ?? '–'} |`,
    );
  });
  p();
  const builds = new Set(runs.map((r) => r.build ?? r.commit));
  if (builds.size > 1) {
    p('**The runs measured different builds**: "build" is a fingerprint of the dist/index.js of the packages');
    p('under test, so any change to them (a comment included) between the runs shows here. See the commits;');
    p("where the code differs, compare each run's ratios on their own.");
    p();
  }
  p('The machine is small (2 cores) and was shared with other jobs while these runs were taken; the');
  p('load average shows how busy it was. PostgreSQL, Redis, the load generator and every process under');
  p('test share the 2 cores, so absolute numbers are low and move between runs: read the ratios,');
  p('which compare figures taken minutes (inbox) or seconds (adapters, interleaved) apart.');
  p();

  // Summary
  p('## Summary');
  p();
  p(`Payable's throughput as a share of the hand-written code's (goal: ≥ ${GOAL * 100} %).`);
  p();
  p(`| comparison | ${runs.map((_r, i) => `run ${i + 1}`).join(' | ')} | goal met |`);
  p(`|---|${runs.map(() => '---:').join('|')}|---|`);
  const inboxRows: [string, (r: BenchRun) => number | undefined][] = [
    [
      'Inbox: events/s received, workers running (vs. hand-written code doing the same durable work)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'with-workers')?.receivedPerSecond,
          inboxOf(r, 'baseline-same', 'with-workers')?.receivedPerSecond,
        ),
    ],
    [
      'Inbox: events/s processed end to end (vs. hand-written code doing the same durable work)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'with-workers')?.processedPerSecond,
          inboxOf(r, 'baseline-same', 'with-workers')?.processedPerSecond,
        ),
    ],
    [
      'Inbox: events/s received, no workers (vs. hand-written code doing the same durable work)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'receive-only')?.receivedPerSecond,
          inboxOf(r, 'baseline-same', 'receive-only')?.receivedPerSecond,
        ),
    ],
    [
      'Inbox: events/s received, workers running (vs. hand-written code that writes a narrower event row)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'with-workers')?.receivedPerSecond,
          inboxOf(r, 'baseline', 'with-workers')?.receivedPerSecond,
        ),
    ],
    [
      'Inbox: events/s processed end to end (vs. hand-written worker that marks the row processed)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'with-workers')?.processedPerSecond,
          inboxOf(r, 'baseline', 'with-workers')?.processedPerSecond,
        ),
    ],
    [
      'Inbox: events/s processed end to end (vs. hand-written worker that also upserts the payment)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'with-workers')?.processedPerSecond,
          inboxOf(r, 'baseline-apply', 'with-workers')?.processedPerSecond,
        ),
    ],
    [
      'Inbox: events/s received, no workers (vs. hand-written code that writes a narrower event row)',
      (r) =>
        ratio(
          inboxOf(r, 'payable', 'receive-only')?.receivedPerSecond,
          inboxOf(r, 'baseline', 'receive-only')?.receivedPerSecond,
        ),
    ],
  ];
  if (last.inbox.length > 0) {
    for (const [label, f] of inboxRows) {
      const values = runs.map(f);
      p(
        `| ${label} | ${values.map((v) => (v === undefined ? '–' : `${Math.round(v * 100)} %`)).join(' | ')} | ${met(values)} |`,
      );
    }
  }
  for (const [versus, what] of [
    ['same', 'hand-written route doing the same durable work'],
    ['baseline', 'hand-written route writing narrower rows'],
  ] as const) {
    for (const stack of s.stacks) {
      for (const fw of s.frameworks) {
        const values = runs.map((r) =>
          ratio(
            adapterOf(r, fw, stack, 'payable')?.requestsPerSecond,
            adapterOf(r, fw, stack, versus)?.requestsPerSecond,
          ),
        );
        if (values.every((v) => v === undefined)) continue;
        p(
          `| ${FRAMEWORK_NAMES[fw] ?? fw} adapter, ${stack === 'sqlite' ? 'SQLite + sync' : 'PostgreSQL + BullMQ'}: requests/s (vs. ${what}) | ${values.map((v) => (v === undefined ? '–' : `${Math.round(v * 100)} %`)).join(' | ')} | ${met(values)} |`,
        );
      }
    }
  }
  p();
  const adapterVsCore = runs
    .flatMap((r) =>
      r.settings.stacks.flatMap((stack) =>
        r.settings.frameworks.map((fw) =>
          ratio(
            adapterOf(r, fw, stack, 'payable')?.requestsPerSecond,
            adapterOf(r, fw, stack, 'core')?.requestsPerSecond,
          ),
        ),
      ),
    )
    .filter((v): v is number => v !== undefined && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (adapterVsCore.length > 0) {
    const median = adapterVsCore[Math.floor(adapterVsCore.length / 2)] as number;
    const lo = Math.round(100 * (adapterVsCore[0] as number));
    const hi = Math.round(100 * (adapterVsCore[adapterVsCore.length - 1] as number));
    p(`Adapter against a hand-written route in the same framework that calls \`payable.webhooks.receive\``);
    p(
      `(column "adapter / core route" below): median ${Math.round(100 * median)} %, range ${lo}–${hi} % over frameworks, stacks and runs.`,
    );
    p(
      median >= GOAL
        ? 'The adapters themselves cost little: the gap to the hand-written code is in the core\'s webhook pipeline and the Knex storage driver (inbox benchmark, "Where the time goes").'
        : 'The adapters add a cost of their own on top of the core\'s (inbox benchmark, "Where the time goes").',
    );
    p();
  }
  const l402Summary = renderL402Summary(runs, root);
  if (l402Summary !== null) {
    p(l402Summary);
    p();
  }

  // Inbox
  if (last.inbox.length > 0) {
    p('## 1. Webhook inbox on PostgreSQL + BullMQ (issue 3)');
    p();
    p('### Method');
    p();
    p(`- ${n0(s.events)} distinct signed \`payment.succeeded\` events of the fake provider (distinct event ids and`);
    p('  payments, made with `FakeProvider#eventFor` before the clock starts), received with');
    p(`  ${s.concurrency} calls in flight, while ${s.workers} worker processes (child processes, BullMQ concurrency`);
    p(
      `  ${s.workerConcurrency} each) process them. ${n0(s.warmupEvents)} events are received and processed first to warm up`,
    );
    p('  every process; they are not counted.');
    p(
      '- **Payable**: a web role `createPayable({ storage: new KnexStorageDriver(pg), queue: new BullMQQueueDriver(...), worker: false })`',
    );
    p('  receives through `payable.webhooks.receive` (called directly: no HTTP, the adapter benchmark');
    p('  covers HTTP); the workers are `createPayable({ ..., worker: true })`. Tables come from `migrate()`.');
    p('- **Hand-written** (bench/baseline-inbox.ts): verify the HMAC (`crypto.timingSafeEqual`, with the');
    p('  timestamp tolerance), `INSERT … ON CONFLICT (provider, event_id) DO NOTHING RETURNING id` with `pg`,');
    p('  `queue.add()` a BullMQ job (same attempts, backoff and retention as Payable). Its workers are a');
    p('  BullMQ `Worker` that marks the row processed (**mark**), or, closer to what Payable does, claims');
    p('  the row, upserts the payment it is about and marks it processed in one transaction (**apply**).');
    p('- **Hand-written, same durable work** (bench/baseline-same.ts), the baseline issue 3 names: the rows');
    p('  Payable writes, in the tables `migrate()` creates, with `pg` and BullMQ. Receive: verify the HMAC, map');
    p('  the event to a normalized one, `INSERT` the event row (raw payload, normalized event, status, times)');
    p('  `ON CONFLICT DO NOTHING`, `queue.add()`. Worker, in one transaction: claim the row and mark it');
    p('  processed (`UPDATE … RETURNING`), `SELECT` the payment `FOR UPDATE`, insert it (its columns and its');
    p('  record as JSON) or move its status forward, and insert its domain events into the outbox');
    p('  (`payment.created` and `payment.succeeded`, one statement). One statement per step, no library.');
    p('- Both sides: pools of 10 PostgreSQL connections per process, the same Redis, the same machine, in');
    p('  the same run, in two rounds of half the events each (hand-written (mark), Payable, hand-written');
    p(
      '  (apply), hand-written (same), then the reverse order), fresh processes and tables for each. "Received" is events / time',
    );
    p('  until the last receive resolved; "processed end to end" is events / time until the database shows');
    p('  every event processed (polled every 25 ms), both summed over the rounds. Latency is the duration');
    p('  of one receive call, percentiles over both rounds.');
    p(
      `- "Receive only" repeats the receive part (${n0(Math.min(s.events, 3000))} events) with no worker running, which isolates`,
    );
    p('  the receive path from the CPU and disk the workers use on this 2-core machine.');
    p();
    p('### Results');
    p();
    runs.forEach((r, i) => {
      const b = inboxOf(r, 'baseline', 'with-workers');
      const a = inboxOf(r, 'baseline-apply', 'with-workers');
      const y = inboxOf(r, 'payable', 'with-workers');
      const bo = inboxOf(r, 'baseline', 'receive-only');
      const yo = inboxOf(r, 'payable', 'receive-only');
      const m = inboxOf(r, 'baseline-same', 'with-workers');
      const mo = inboxOf(r, 'baseline-same', 'receive-only');
      p(
        `**${runLabel(i, r)}**, ${n0(r.settings.events)} events, concurrency ${r.settings.concurrency}, ${r.settings.workers} workers × ${r.settings.workerConcurrency}`,
      );
      p();
      p(
        '| | hand-written (mark) | hand-written (apply) | hand-written (same durable work) | Payable | Payable / same durable work | Payable / hand-written (mark) |',
      );
      p('|---|---:|---:|---:|---:|---:|---:|');
      p(
        `| events/s received | ${n0(b?.receivedPerSecond)} | ${n0(a?.receivedPerSecond)} | ${n0(m?.receivedPerSecond)} | ${n0(y?.receivedPerSecond)} | ${pct(y?.receivedPerSecond, m?.receivedPerSecond)} | ${pct(y?.receivedPerSecond, b?.receivedPerSecond)} |`,
      );
      p(
        `| events/s processed end to end | ${n0(b?.processedPerSecond)} | ${n0(a?.processedPerSecond)} | ${n0(m?.processedPerSecond)} | ${n0(y?.processedPerSecond)} | ${pct(y?.processedPerSecond, m?.processedPerSecond)} | ${pct(y?.processedPerSecond, b?.processedPerSecond)} (vs. apply: ${pct(y?.processedPerSecond, a?.processedPerSecond)}) |`,
      );
      p(
        `| receive latency p50 (ms) | ${n1(b?.p50Ms)} | ${n1(a?.p50Ms)} | ${n1(m?.p50Ms)} | ${n1(y?.p50Ms)} | ${times(y?.p50Ms, m?.p50Ms)} | ${times(y?.p50Ms, b?.p50Ms)} |`,
      );
      p(
        `| receive latency p99 (ms) | ${n1(b?.p99Ms)} | ${n1(a?.p99Ms)} | ${n1(m?.p99Ms)} | ${n1(y?.p99Ms)} | ${times(y?.p99Ms, m?.p99Ms)} | ${times(y?.p99Ms, b?.p99Ms)} |`,
      );
      p(
        `| receive errors / events not processed | ${b?.errors ?? '–'} / ${b?.notProcessed ?? '–'} | ${a?.errors ?? '–'} / ${a?.notProcessed ?? '–'} | ${m?.errors ?? '–'} / ${m?.notProcessed ?? '–'} | ${y?.errors ?? '–'} / ${y?.notProcessed ?? '–'} | | |`,
      );
      p(
        `| receive only: events/s | ${n0(bo?.receivedPerSecond)} | | ${n0(mo?.receivedPerSecond)} | ${n0(yo?.receivedPerSecond)} | ${pct(yo?.receivedPerSecond, mo?.receivedPerSecond)} | ${pct(yo?.receivedPerSecond, bo?.receivedPerSecond)} |`,
      );
      p(
        `| receive only: latency p50 / p99 (ms) | ${n1(bo?.p50Ms)} / ${n1(bo?.p99Ms)} | | ${n1(mo?.p50Ms)} / ${n1(mo?.p99Ms)} | ${n1(yo?.p50Ms)} / ${n1(yo?.p99Ms)} | | |`,
      );
      p();
    });
    const withinGoal = (r: BenchRun, side: InboxSide) =>
      (ratio(
        inboxOf(r, 'payable', 'with-workers')?.receivedPerSecond,
        inboxOf(r, side, 'with-workers')?.receivedPerSecond,
      ) ?? 0) >= GOAL &&
      (ratio(
        inboxOf(r, 'payable', 'with-workers')?.processedPerSecond,
        inboxOf(r, side, 'with-workers')?.processedPerSecond,
      ) ?? 0) >= GOAL;
    p(
      runs.every((r) => withinGoal(r, 'baseline-same'))
        ? 'Payable is within 10 % of the hand-written code that does the same durable work, received and processed, in every run.'
        : '**Payable is not within 10 % of the hand-written code that does the same durable work** (received and processed, in every run).',
    );
    p(
      runs.every((r) => withinGoal(r, 'baseline'))
        ? 'It is also within 10 % of the narrower hand-written code.'
        : 'It is not within 10 % of the narrower hand-written code (mark), which writes a smaller event row, no payment and no outbox message.',
    );
    p();
  }

  // Where the time goes
  const withStatements = [...runs].reverse().find((r) => r.statements !== null);
  const withProfiles = [...runs].reverse().find((r) => r.profiles !== null);
  if (withStatements || withProfiles) {
    p('### Where the time goes');
    p();
    if (withStatements?.statements) {
      const seq = (xs: readonly string[]) => xs.map((x) => `\`${x}\``).join(' → ');
      p("SQL statements per webhook on PostgreSQL, counted through knex's `query` event (bench/query-count.ts).");
      p('A round trip is one statement (BEGIN and COMMIT included); a commit is a write outside a transaction,');
      p('or a transaction, and waits for PostgreSQL to flush its WAL to disk (`synchronous_commit = on`).');
      p();
      p('| | round trips | commits | statements |');
      p('|---|---:|---:|---|');
      runs.forEach((r, i) => {
        const st = r.statements;
        if (!st) return;
        const prev = i > 0 ? runs[i - 1]?.statements : null;
        const same =
          prev !== null &&
          prev !== undefined &&
          JSON.stringify([prev.receive, prev.process]) === JSON.stringify([st.receive, st.process]);
        if (same) {
          p(
            `| Payable, run ${i + 1}: receive / process | ${st.receive.roundTrips} / ${st.process.roundTrips} | ${st.receive.commits} / ${st.process.commits} | same as run ${i} |`,
          );
          return;
        }
        p(
          `| Payable, run ${i + 1}: receive (\`webhooks.receive\`) | ${st.receive.roundTrips} | ${st.receive.commits} | ${seq(st.receive.sequence)} |`,
        );
        p(
          `| Payable, run ${i + 1}: process (\`webhook.process\` job) | ${st.process.roundTrips} | ${st.process.commits} | ${seq(st.process.sequence)} |`,
        );
      });
      p('| hand-written: receive | 1 | 1 | `INSERT events … ON CONFLICT DO NOTHING` |');
      p('| hand-written: process (mark) | 1 | 1 | `UPDATE events` |');
      p(
        '| hand-written: process (apply) | 5 | 1 | `BEGIN` → `SELECT events … FOR UPDATE SKIP LOCKED` → `INSERT payments … ON CONFLICT DO UPDATE` → `UPDATE events` → `COMMIT` |',
      );
      p('| hand-written, same durable work: receive | 1 | 1 | `INSERT webhook_events … ON CONFLICT DO NOTHING` |');
      p(
        '| hand-written, same durable work: process | 6 | 1 | `BEGIN` → `UPDATE webhook_events … RETURNING` → `SELECT payments … FOR UPDATE` → `INSERT payments` → `INSERT outbox` → `COMMIT` |',
      );
      p();
      const st = withStatements.statements;
      p(
        st.receive.roundTrips > 1
          ? `- **Receive**: ${st.receive.roundTrips} round trips per webhook against 1 for the hand-written code (${st.receive.reads} of them a read outside a transaction), each waiting for a pooled connection and for PostgreSQL on the critical path of every webhook.`
          : "- **Receive**: one INSERT per webhook, as in the hand-written code, run straight on a pooled `pg` connection as a prepared statement. Against the narrower hand-written code, the remaining gap in the web role is CPU per event (profiles below): Payable's row is wider (the raw payload, the normalized event, tenant, lease and timestamp columns: about 1.7 kB sent per event to PostgreSQL and Redis against 1.0 kB), the event is normalized and serialized a second time, and knex's pool (tarn) hands out each connection.",
      );
      p(
        '  Redis work is the same on both sides (one `EVALSHA` per job; Payable also writes a deduplication key; checked with `INFO commandstats`).',
      );
      p(
        `- **Process**: ${st.process.roundTrips} round trips in ${st.process.commits} commit${st.process.commits === 1 ? '' : 's'} per event, against 1 in 1 for the hand-written worker that marks the row processed and 5 in 1 for the one that also upserts the payment. Every commit waits for a WAL flush; every round trip for a pooled connection. The workers' work also slows the web role down: they share the disk and the 2 cores.`,
      );
      const lite = st.sqliteInline;
      const engine = st.sqliteEngine;
      p(
        lite
          ? `- **SQLite + sync queue** (adapter benchmark): a webhook request alone runs ${lite.roundTrips} statements in ${lite.commits} commit${lite.commits === 1 ? '' : 's'} (${seq(lite.sequence)}), behind SQLite's single writer. Requests that arrive together share one transaction and one COMMIT (the driver's group commit: a savepoint for each request after the first), so the COMMIT and its fsync are paid once per group, not per request. Payable writes more than the narrower hand-written route: four rows (the event with its raw and normalized payload, the payment, and for a new payment two outbox messages, \`payment.created\` and \`payment.succeeded\`, in one INSERT) into tables that carry 13 indexes, where the narrower route's two tables carry 3 and it writes no outbox message. The hand-written route that writes the same rows pays a COMMIT and its fsync per request, which is why Payable's adapters answer more requests per second than it does on SQLite.`
          : `- **SQLite + sync queue** (adapter benchmark): the receive and process statements run inline in the request, behind SQLite's single writer; the hand-written route runs 3 statements in 1 transaction.`,
      );
      if (engine) {
        p(
          `  SQLite's own time per webhook, measured apart (bench/query-count.ts: Payable's statements from ${n0(engine.events)} receives with 16 in flight, replayed with better-sqlite3 on a fresh file, ${n0(engine.payableCommits)} commits in all; the hand-written route's transaction, one commit per event): Payable ${engine.payableUs.toFixed(0)} µs, hand-written ${engine.handWrittenUs.toFixed(0)} µs. The rest of the gap is JavaScript per request: Payable's pipeline (verification, normalization, the storage port, knex's transaction) against a few lines of better-sqlite3.`,
        );
      }
      p();
    }
    const withSplit = [...runs].reverse().find((r) => r.cpuSplit);
    const split = withSplit?.cpuSplit;
    if (withSplit && split) {
      const us = (x: number | null) => (x === null ? '–' : `${n0(x)} µs`);
      const both = (c: CpuSplit['payable']['receive']) => (c.postgresUs === null ? null : c.nodeUs + c.postgresUs);
      const m = split.sameWork;
      const row = (label: string, hand: number | null, same: number | null | undefined, pay: number | null) =>
        p(
          `| ${label} | ${us(hand)} |${m ? ` ${us(same ?? null)} |` : ''} ${us(pay)} |${m ? ` ${times(pay ?? undefined, same ?? undefined)} |` : ''} ${times(pay ?? undefined, hand ?? undefined)} |`,
        );
      const h = split.handWritten;
      const y = split.payable;
      p(
        `CPU per event by process, measured apart in run ${runs.indexOf(withSplit) + 1} (bench/cpu-split.ts): Payable's web role and its \`webhook.process\` jobs in one process, with a queue that keeps the jobs (no HTTP, no Redis), against the hand-written receive (verify + INSERT) and the hand-written worker that applies the payment${m ? ', and against the hand-written code doing the same durable work' : ''}; ${n0(split.events)} events per side, ${split.concurrency} in flight, after a warm-up, in two rounds of opposite order. Node.js: \`process.cpuUsage()\`; PostgreSQL: the operating system's accounting of every \`postgres\` process (/proc); both user + system.`,
      );
      p();
      p(
        m
          ? '| CPU per event | hand-written | hand-written, same work | Payable | Payable / same work | Payable / hand-written |'
          : '| CPU per event | hand-written | Payable | Payable / hand-written |',
      );
      p(m ? '|---|---:|---:|---:|---:|---:|' : '|---|---:|---:|---:|');
      row('receive: Node.js', h.receive.nodeUs, m?.receive.nodeUs, y.receive.nodeUs);
      row('receive: PostgreSQL', h.receive.postgresUs, m?.receive.postgresUs, y.receive.postgresUs);
      row('process: Node.js', h.process.nodeUs, m?.process.nodeUs, y.process.nodeUs);
      row('process: PostgreSQL', h.process.postgresUs, m?.process.postgresUs, y.process.postgresUs);
      const total = (c: CpuSplit['payable']) => {
        const r = both(c.receive);
        const q = both(c.process);
        return r === null || q === null ? null : r + q;
      };
      row('**receive + process, both processes**', total(h), m ? total(m) : null, total(y));
      p();
      const knexExtra = split.transaction.knexUs - split.transaction.byHandUs;
      p(
        `- On this 2-core machine everything shares the cores, so the events processed per second end to end follow the total. Against the narrower hand-written code, the process step is where Payable costs more, in Node.js (${times(y.process.nodeUs, h.process.nodeUs)}) and in PostgreSQL (${times(y.process.postgresUs ?? undefined, h.process.postgresUs ?? undefined)}).`,
      );
      p(
        `- PostgreSQL does more per processed event than for the narrower code because Payable writes more: the claim updates the event row (its status and times, in a table of 5 indexes), the payment row carries its full record as JSON (5 indexes), and the change appends two outbox messages (3 indexes); the narrower worker upserts a narrow payment row (2 indexes) and marks its event (3 indexes).`,
      );
      if (m) {
        p(
          `- Against hand-written code that writes the same rows, PostgreSQL's work is the same or less (${times(y.receive.postgresUs ?? undefined, m.receive.postgresUs ?? undefined)} receiving, ${times(y.process.postgresUs ?? undefined, m.process.postgresUs ?? undefined)} processing: the driver's inserts and updates are prepared statements, parsed and planned once per connection), and what remains is Node.js: ${times(y.receive.nodeUs, m.receive.nodeUs)} receiving, ${times(y.process.nodeUs, m.process.nodeUs)} processing, the cost of the pipeline (the provider's verification and normalization, the storage port, the record and outbox built generically, the wider event row read back by the claim).`,
        );
      }
      p(
        `- In Node.js, no single function stands out (profiles below: none above a few per cent of busy time). One piece stood out: a knex transaction costs ${n0(split.transaction.knexUs)} µs of Node.js CPU with one statement sent on its connection, against ${n0(split.transaction.byHandUs)} µs for BEGIN and COMMIT sent by hand on a connection of the same pool (${n0(split.transaction.transactions)} transactions each, alternated), ${n0(knexExtra)} µs more; so the Knex driver runs its PostgreSQL transactions itself, BEGIN and COMMIT on a pooled connection (docs/persistence/20-storage-knex.md). The rest is Payable's pipeline: reading the wider rows PostgreSQL returns (the claimed event, the payment), building the record and the outbox messages and serializing them, and the garbage they leave.`,
      );
      p();
    }
    const profiled = withProfiles?.profiles;
    if (profiled) {
      const pay = profiled.sides.payable;
      const hand = profiled.sides.baseline;
      const perEvent = (t: ProfileTop | undefined) => (t ? t.busyMs / profiled.events : undefined);
      const share = (t: ProfileTop | undefined, test: (pkg: string) => boolean) =>
        t ? (100 * t.byPackage.filter(([pkg]) => test(pkg)).reduce((a, [, ms]) => a + ms, 0)) / t.busyMs : undefined;
      p(
        `CPU profiles of the measured phase (inspector, from the first event received until all were processed) of an extra, unmeasured run of ${n0(profiled.events)} events per side, taken in run ${runs.indexOf(withProfiles) + 1} (bench/profiler.ts):`,
      );
      p();
      p('| CPU busy time per event | hand-written | Payable | Payable / hand-written |');
      p('|---|---:|---:|---:|');
      p(
        `| web role (receive) | ${n1((perEvent(hand?.web) ?? Number.NaN) * 1000)} µs | ${n1((perEvent(pay?.web) ?? Number.NaN) * 1000)} µs | ${times(perEvent(pay?.web), perEvent(hand?.web))} |`,
      );
      p(
        `| 2 worker processes (process) | ${n1((perEvent(hand?.workers) ?? Number.NaN) * 1000)} µs | ${n1((perEvent(pay?.workers) ?? Number.NaN) * 1000)} µs | ${times(perEvent(pay?.workers), perEvent(hand?.workers))} |`,
      );
      p();
      if (pay) {
        p("Payable's busy time by package (self time; top 10):");
        p();
        p('| web role (receive) | share | worker processes (process) | share |');
        p('|---|---:|---|---:|');
        const rows = Math.min(10, Math.max(pay.web.byPackage.length, pay.workers.byPackage.length));
        for (let i = 0; i < rows; i++) {
          const w = pay.web.byPackage[i];
          const k = pay.workers.byPackage[i];
          p(
            `| ${w ? w[0] : ''} | ${w ? `${((100 * w[1]) / pay.web.busyMs).toFixed(1)} %` : ''} | ${k ? k[0] : ''} | ${k ? `${((100 * k[1]) / pay.workers.busyMs).toFixed(1)} %` : ''} |`,
          );
        }
        p();
        const own = (pkg: string) => pkg.startsWith('@payable/') && pkg !== '@payable/testing';
        p(
          `Payable's own code (\`@payable/core\`, \`@payable/storage-knex\`, \`@payable/queue-bullmq\`, …; the fake provider's verification excluded) takes ${n1(share(pay.web, own))} % of the web role's busy time and ${n1(share(pay.workers, own))} % of the workers'; knex ${n1(share(pay.web, (x) => x === 'knex'))} % and ${n1(share(pay.workers, (x) => x === 'knex'))} %; the HMAC is in "node (internals)". The inspector samples wall-clock time: a sample taken while the thread waits in a socket write, PostgreSQL (woken by the write) running on the same core, lands on \`writev\`, so "(native/V8)" (mostly \`writev\`) overstates what the writes cost in CPU; the table above, from the operating system's accounting, measures CPU.`,
        );
        p(
          'Reproduce: `pnpm bench --only inbox`; bench/profile-summary.ts prints the top functions of any `.cpuprofile`.',
        );
        p();
      }
    }
    p('The benchmark itself changes none of the code it measures.');
    p();
  }

  // Adapters
  if (last.adapters.length > 0) {
    p('## 2. HTTP adapters (issue 4)');
    p();
    p('### Method');
    p();
    p('- Load generator: autocannon (programmatic API) in the parent process, the server under test in a');
    p(
      `  child process. ${s.connections} connections. Every request is a distinct \`payment.succeeded\` event of the fake`,
    );
    p('  provider, signed when autocannon builds the request (`setupRequest`), so dedupe never');
    p('  short-circuits. Route: `POST /payable/webhooks/fake` on every side.');
    p("- Four servers per framework and stack, all started at once: **hand-written** (the framework's own");
    p('  raw-body handling — `express.raw()`, a Buffer content-type parser in Fastify, `req.rawBody` in a Nest');
    p('  controller — then verify + insert + enqueue or process, bench/baseline-routes.ts and');
    p('  bench/baseline-inbox.ts), **hand-written, same work** (the same route writing the rows Payable');
    p(
      '  writes, in the tables `migrate()` creates, bench/baseline-same.ts), **core route** (the same hand-written route calling',
    );
    p('  `payable.webhooks.receive`: Payable without its adapter) and **adapter** (`payableRouter`,');
    p('  `payablePlugin`, `PayableModule.forRoot`). Each is warmed up for');
    p(
      `  ${s.warmupSeconds} s, then the load alternates between them in ${s.slice} s slices until each had ${s.duration} s, so background`,
    );
    p('  load on the machine hits all four alike. Requests/s is over all the slices of a side; the ratios in');
    p('  the table divide those totals. "Rounds" shows how far the ratio of single slices (round i of one side');
    p('  against round i of the other, seconds apart) moves on this shared machine: the lowest and highest.');
    p('  Latency percentiles are over every 2xx response of the slices.');
    p("- **SQLite + sync queue**: a fresh SQLite file (better-sqlite3) in WAL mode on both sides (Payable's");
    p('  `migrate()` sets it; the hand-written route sets it too, so the journal mode does not decide: with');
    p('  the default rollback journal every commit costs several fsyncs and the hand-written route is several');
    p('  times slower);');
    p('  Payable with `KnexStorageDriver` and the default inline `SyncQueueDriver`, so the event is processed');
    p('  before the answer; the hand-written route inserts the event, upserts the payment and marks the');
    p('  event processed in one better-sqlite3 transaction; the same-work route inserts the event row as');
    p('  processed, inserts or moves forward the payment (with its record) and appends its two outbox');
    p('  messages, in one better-sqlite3 transaction per request (Payable shares one transaction and one');
    p('  COMMIT among the requests that arrive together: its group commit).');
    p('- **PostgreSQL + BullMQ**: Payable with `KnexStorageDriver` and `BullMQQueueDriver` (`worker: false`);');
    p('  the hand-written route uses `pg` and a BullMQ `Queue`. No worker runs during the measurement, on');
    p(`  either side. Pools of 10 connections.`);
    p('- Errors, timeouts and non-2xx answers must be 0. "stored / 2xx" checks that every answered');
    p('  request is a stored event (stored can exceed 2xx by the requests cut off at the end of each slice).');
    p();
    p('### Results');
    p();
    runs.forEach((r, i) => {
      p(`**${runLabel(i, r)}**, ${r.settings.duration} s per side, ${r.settings.connections} connections`);
      p();
      p(
        '| framework | stack | side | requests/s | p50 ms | p99 ms | errors + timeouts / non-2xx | stored / 2xx | / hand-written, same work | rounds: / same work, lowest–highest | / hand-written | adapter / core route |',
      );
      p('|---|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|');
      for (const stack of r.settings.stacks) {
        for (const fw of r.settings.frameworks) {
          const base = adapterOf(r, fw, stack, 'baseline');
          const same = adapterOf(r, fw, stack, 'same');
          const core = adapterOf(r, fw, stack, 'core');
          for (const side of ['baseline', 'same', 'core', 'payable'] as const) {
            const x = adapterOf(r, fw, stack, side);
            if (!x) continue;
            const label = SIDE_LABELS[side];
            const hand = side === 'baseline' || side === 'same';
            p(
              `| ${FRAMEWORK_NAMES[fw] ?? fw} | ${stack === 'sqlite' ? 'SQLite + sync' : 'PostgreSQL + BullMQ'} | ${label} | ${n0(x.requestsPerSecond)} | ${n1(x.p50Ms)} | ${n1(x.p99Ms)} | ${x.errors + x.timeouts} / ${x.non2xx} | ${x.stored} / ${x.answered2xx} | ${hand ? '' : pct(x.requestsPerSecond, same?.requestsPerSecond)} | ${hand ? '' : roundSpread(x, same)} | ${hand ? '' : pct(x.requestsPerSecond, base?.requestsPerSecond)} | ${side === 'payable' ? pct(x.requestsPerSecond, core?.requestsPerSecond) : ''} |`,
            );
          }
        }
      }
      p();
    });
    p(
      'Stacks: ' +
        Object.entries(STACK_NAMES)
          .map(([k, v]) => `${k === 'sqlite' ? 'SQLite + sync' : 'PostgreSQL + BullMQ'} = ${v}`)
          .join('; ') +
        '.',
    );
    p();
  }

  out.push(...renderTail(runs, root));
  return `${out.join('\n')}`;
}

/** One stored run's L402 figures and how the report names the run. */
interface L402Entry {
  label: string;
  run: BenchRun;
  result: L402Result;
}

/**
 * The L402 figures to show: those of the given (full) runs; when none of them has any (runs taken
 * before the L402 benchmark existed), the latest full or `--only l402` run in bench/results that has.
 */
function l402Entries(runs: readonly BenchRun[], root: string): { entries: L402Entry[]; fromPartial: boolean } {
  const inRuns = runs.flatMap((run, i) => (run.l402 ? [{ label: runLabel(i, run), run, result: run.l402 }] : []));
  if (inRuns.length > 0) return { entries: inRuns, fromPartial: false };
  let files: string[];
  try {
    files = readdirSync(join(root, 'bench', 'results'))
      .filter((f) => f.endsWith('-full.json') || f.endsWith('-partial.json'))
      .sort()
      .reverse();
  } catch {
    return { entries: [], fromPartial: false };
  }
  for (const f of files) {
    const run = JSON.parse(readFileSync(join(root, 'bench', 'results', f), 'utf8')) as BenchRun;
    if (run.l402) {
      const kind = run.mode === 'full' ? 'full' : '`--only l402`';
      const label = `the ${kind} run of ${run.date.slice(0, 16).replace('T', ' ')} UTC`;
      return { entries: [{ label, run, result: run.l402 }], fromPartial: run.mode !== 'full' };
    }
  }
  return { entries: [], fromPartial: false };
}

/** Whether one run meets issue 7's goal, and why not. */
function l402Verdict(r: L402Result): { met: boolean; text: string } {
  const fast = r.ours.median >= r.goalPerSecond;
  const ahead = r.ratio > 1;
  const figures = `${n0(r.ours.median)}/s, ${r.ratio.toFixed(2)}× the library's ${n0(r.theirs.median)}/s`;
  if (fast && ahead) return { met: true, text: `met (${figures})` };
  const misses = [...(fast ? [] : [`below ${n0(r.goalPerSecond)}/s`]), ...(ahead ? [] : ['not ahead of the library'])];
  return { met: false, text: `**not met**: ${misses.join(' and ')} (${figures})` };
}

/**
 * The summary line of the L402 benchmark, or `null` when no stored run has L402 figures.
 *
 * @example
 * ```ts
 * const line = renderL402Summary(latestRuns(dir, 'full', 2), root);
 * ```
 */
export function renderL402Summary(runs: readonly BenchRun[], root: string): string | null {
  const { entries } = l402Entries(runs, root);
  const last = entries[entries.length - 1];
  if (!last) return null;
  return `L402 verification (issue 7; goal: ≥ ${n0(last.result.goalPerSecond)} verifications/s on one core and ahead of the \`macaroon\` library): ${l402Verdict(last.result).text} in ${last.label} (section 3).`;
}

/**
 * The end of the report: the L402 benchmark (section 3), the micro-benchmarks (section 4) and how
 * to reproduce, as lines.
 *
 * @example
 * ```ts
 * const lines = renderTail(latestRuns(dir, 'full', 2), root);
 * ```
 */
export function renderTail(runs: readonly BenchRun[], root: string): string[] {
  const out: string[] = [];
  const p = (line = '') => out.push(line);

  // L402
  const { entries, fromPartial } = l402Entries(runs, root);
  const last = entries[entries.length - 1];
  if (last) {
    const r = last.result;
    const verdict = l402Verdict(r);
    p('## 3. L402 verification (issue 7)');
    p();
    p(
      `Goal: at least ${n0(r.goalPerSecond)} full L402 verifications per second on one core, and ahead of the \`macaroon\` library's`,
    );
    p(`verify doing the same work. In ${last.label}: ${verdict.text}.`);
    if (fromPartial) {
      p(
        'These figures come from the latest `pnpm bench --only l402` run, not from the full runs above, which predate the L402',
      );
      p('benchmark; the next full run includes it.');
    }
    p();
    p('### Method');
    p();
    p(
      '- The same work on both sides, from the `Authorization` value to a decision (packages/l402/bench/verify-work.ts,',
    );
    p('  shared with the vitest micro-benchmark): split the header, base64-decode and deserialize the V2 binary');
    p('  macaroon, recompute the HMAC-SHA256 chain from the root key (with the `macaroons-key-generator`');
    p(
      `  derivation), check each of the token's ${r.caveats} caveats (services, capabilities, valid-until, path, amount),`,
    );
    p('  and check sha256(preimage) against the payment hash in the identifier.');
    p('  **@payable/l402**: `parseAuthorization` + `verifyL402Token` from the built package. **Library**:');
    p(`  ${r.library} \`importMacaroon\` + \`verify\` (its caveat checker a set lookup, cheaper than Payable's`);
    p('  caveat parsing) + the same preimage check.');
    p(
      `- One token, its \`Authorization\` value ${r.headerBytes} bytes; the root key in memory on both sides (the paywall keeps`,
    );
    p('  root keys in an in-memory cache); no database, no Lightning node. The paywall adds that cache lookup and,');
    p('  under the single-use policy, a replay-store write, neither measured here.');
    p(
      `- One child process, one thread. ${r.warmupSeconds} s of warm-up per side, then ${r.rounds} rounds of ${r.roundSeconds} s per side, the sides`,
    );
    p('  interleaved and their order alternating each round, so background load hits both alike. Figures are');
    p('  verifications per second of wall-clock time, the median round of each side, and their ratio; "per CPU');
    p("  second\" divides by the process's user + system CPU time instead (V8's GC threads included), which");
    p('  discounts the time the process waited for a core on this shared machine. Every verification must pass,');
    p('  or the run fails.');
    p();
    p('### Results');
    p();
    p(
      `| run | load 1 min at start / end | @payable/l402 /s | ${r.library} /s | @payable/l402 / library | per CPU second: @payable/l402 / library | goal met |`,
    );
    p('|---|---|---:|---:|---:|---:|---|');
    for (const e of entries) {
      const x = e.result;
      p(
        `| ${e.label} | ${n1(e.run.loadStart[0])} / ${n1(e.run.loadEnd[0])} | ${n0(x.ours.median)} | ${n0(x.theirs.median)} | ${x.ratio.toFixed(2)}× | ${n0(x.ours.medianCpu)} / ${n0(x.theirs.medianCpu)} | ${l402Verdict(x).met ? 'yes' : '**no**'} |`,
      );
    }
    p();
    p('Each round (verifications per second, wall clock):');
    p();
    p('| run | side | rounds |');
    p('|---|---|---|');
    for (const e of entries) {
      p(`| ${e.label} | @payable/l402 | ${e.result.ours.perSecond.map((x) => n0(x)).join(', ')} |`);
      p(`| ${e.label} | ${e.result.library} | ${e.result.theirs.perSecond.map((x) => n0(x)).join(', ')} |`);
    }
    p();
  }

  // Micro benchmarks
  const micro = microBenches(root);
  p('## 4. Micro-benchmarks (vitest bench)');
  p();
  if (micro.length === 0) {
    p('None yet.');
  } else {
    p('Run on their own with vitest (the L402 one measures the same work as section 3, which `pnpm bench` runs):');
    p();
    p('| benchmark | compares | command |');
    p('|---|---|---|');
    for (const m of micro) p(`| ${m.file} | ${m.what} | \`npx vitest bench --run ${m.file}\` |`);
  }
  p();

  // Reproduce
  p('## How to reproduce');
  p();
  p('```sh');
  p('# PostgreSQL on 127.0.0.1:5432 (user postgres, database payable_test) and Redis on 127.0.0.1:6379');
  p('# (or BENCH_PG_URL / BENCH_REDIS_URL), then from the repository root:');
  p('pnpm bench                      # full run (5-7 minutes on 2 busy cores); writes docs/benchmarks.md');
  p('pnpm bench --quick              # short run (1,000 events, 3 s per side); prints, leaves the docs alone');
  p('pnpm bench --only inbox         # or --only adapters, --only l402 (stored apart; the docs show full runs)');
  p('pnpm bench --events 10000 --concurrency 64 --duration 10 --connections 32 --frameworks fastify --stacks pg');
  p('pnpm bench --only l402 --l402-rounds 11 --l402-seconds 2');
  p('pnpm bench --cleanup            # drop tables and Redis keys an interrupted run left behind');
  p('```');
  p();
  p('Each run stores its figures in `bench/results/<date>-<mode>.json`; the report shows the last two full');
  p('runs (the L402 section, while they have no L402 figures, the latest `--only l402` run). Tables and Redis');
  p('keys get unique prefixes per run and are dropped afterwards. The benchmark code is in `bench/` (not part');
  p('of `pnpm test`).');
  p();
  return out;
}

/** vitest bench files under packages/*\/bench, with the first comment line as a description. */
function microBenches(root: string): { file: string; what: string }[] {
  const out: { file: string; what: string }[] = [];
  const packages = join(root, 'packages');
  for (const pkg of readdirSync(packages)) {
    let files: string[];
    try {
      files = readdirSync(join(packages, pkg, 'bench')).filter((f) => f.endsWith('.bench.ts'));
    } catch {
      continue;
    }
    for (const f of files) {
      const text = readFileSync(join(packages, pkg, 'bench', f), 'utf8');
      const lead: string[] = [];
      for (const line of text.split('\n')) {
        const m = /^\/\/\s?(.*)$/.exec(line);
        if (!m || (m[1] ?? '').trim() === '') break;
        lead.push((m[1] ?? '').trim());
      }
      const what =
        lead
          .join(' ')
          .split(/\s*Run:/)[0]
          ?.trim() ?? '';
      out.push({ file: `packages/${pkg}/bench/${f}`, what: what.replace(/\|/g, '\\|') });
    }
  }
  return out;
}
