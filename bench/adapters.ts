/**
 * Webhook receive through each HTTP adapter (issue 4), measured with autocannon (programmatic API)
 * against servers in child processes (adapter-server.ts), every request a distinct signed event.
 *
 * For one framework and stack, the servers of every side run at once (idle but one at a time under
 * load) and the load alternates between them in short slices (B, C, P, B, C, P, ...), so a change
 * in the machine's background load during the measurement hits every side alike.
 */
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import type { Framework, ServerOptions, Side, Stack } from './adapter-server.js';
import { deliveryStream } from './events.js';
import { exited, forkBench, nextMessage, percentile, uniqueTag } from './shared.js';

export interface LoadOptions {
  /** Measured seconds per side (split into slices). */
  duration: number;
  /** Length of one slice in seconds. */
  slice: number;
  /** Seconds of load on each server before the measurement (discarded). */
  warmup: number;
  connections: number;
}

export interface AdapterResult {
  framework: Framework;
  side: Side;
  stack: Stack;
  connections: number;
  /** Measured seconds (sum of the slices). */
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 2xx answers over warm-up and measurement. */
  answered2xx: number;
  /** Events the server stored: between `answered2xx` and that plus the requests cut off at the end of each slice. */
  stored: number;
  /** Events processed inline (SQLite stack). */
  processed: number;
  /** Requests/s (2xx) of each measured slice, in order: slice i of every side ran in the same round. Absent in older runs. */
  slices?: number[];
}

interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

interface Tally {
  /** 2xx requests/s of each slice. */
  slices: number[];
  seconds: number;
  ok: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latencies: number[];
}

/** Load `port` for `seconds`; returns autocannon's result, pushing each 2xx response time into `latencies`. */
function load(
  port: number,
  seconds: number,
  connections: number,
  next: ReturnType<typeof deliveryStream>,
  latencies: number[] | null,
): Promise<CannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: '/payable/webhooks/fake',
            setupRequest: (request: Record<string, unknown>) => {
              const d = next();
              return { ...request, body: d.rawBody, headers: d.headers };
            },
          },
        ],
      },
      (error: Error | null, result: CannonResult) => (error ? reject(error) : resolve(result)),
    );
    if (latencies) {
      instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
    }
  });
}

interface Running {
  side: Side;
  child: ChildProcess;
  port: number;
  next: ReturnType<typeof deliveryStream>;
  tally: Tally;
  warm2xx: number;
}

/**
 * Measure every side of one framework + stack. `sides` are started together, warmed up one after
 * the other, then loaded in alternating slices until each had `duration` seconds.
 */
export async function runAdapterScenario(
  framework: Framework,
  stack: Stack,
  sides: readonly Side[],
  options: LoadOptions,
): Promise<AdapterResult[]> {
  const children = sides.map((side) => ({
    side,
    child: forkBench('./adapter-server.ts', [JSON.stringify({ framework, side, stack } satisfies ServerOptions)]),
  }));
  try {
    const running: Running[] = [];
    for (const { side, child } of children) {
      const { port } = await nextMessage<{ type: 'ready'; port: number }>(child, 'ready');
      running.push({
        side,
        child,
        port,
        next: deliveryStream(uniqueTag('h')),
        tally: { slices: [], seconds: 0, ok: 0, errors: 0, timeouts: 0, non2xx: 0, latencies: [] },
        warm2xx: 0,
      });
    }
    for (const r of running) {
      if (options.warmup <= 0) continue;
      const warm = await load(r.port, options.warmup, options.connections, r.next, null);
      r.warm2xx = warm['2xx'];
      r.tally.errors += warm.errors;
      r.tally.timeouts += warm.timeouts;
      r.tally.non2xx += warm.non2xx;
    }
    const slices = Math.max(1, Math.round(options.duration / options.slice));
    for (let i = 0; i < slices; i++) {
      for (const r of running) {
        const result = await load(r.port, options.slice, options.connections, r.next, r.tally.latencies);
        r.tally.seconds += result.duration;
        r.tally.ok += result['2xx'];
        r.tally.slices.push(result['2xx'] / result.duration);
        r.tally.errors += result.errors;
        r.tally.timeouts += result.timeouts;
        r.tally.non2xx += result.non2xx;
      }
    }
    const allStats = running.map((r) => {
      const stats = nextMessage<{ type: 'stats'; stored: number; processed: number }>(r.child, 'stats');
      r.child.send({ type: 'stop' });
      return stats;
    });
    const results: AdapterResult[] = [];
    for (const [i, r] of running.entries()) {
      const { stored, processed } = await (allStats[i] as (typeof allStats)[number]);
      const sorted = r.tally.latencies.sort((a, b) => a - b);
      results.push({
        framework,
        side: r.side,
        stack,
        connections: options.connections,
        seconds: r.tally.seconds,
        requestsPerSecond: r.tally.ok / r.tally.seconds,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        errors: r.tally.errors,
        timeouts: r.tally.timeouts,
        non2xx: r.tally.non2xx,
        answered2xx: r.tally.ok + r.warm2xx,
        stored,
        processed,
        slices: r.tally.slices,
      });
    }
    return results;
  } finally {
    // A child told to stop above may be closing its channel already: a failed send is no error here.
    for (const { child } of children) if (child.connected) child.send({ type: 'stop' }, () => undefined);
    await Promise.all(children.map(({ child }) => exited(child, 30_000)));
  }
}
