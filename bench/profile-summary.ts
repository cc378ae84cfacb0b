/**
 * Summarise V8 `.cpuprofile` files (from `node --cpu-prof`): self time by package and the top
 * functions, busy time only (idle and the profiler's own samples left out).
 *
 * Usage: node --import tsx bench/profile-summary.ts <file-or-dir> [top=25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script URL belongs to: `@payable/<pkg>`, an npm package, `node:` internals or the bench. */
export function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node (internals)';
  const payable = /\/packages\/([^/]+)\/(?:dist|src)\//.exec(url);
  if (payable) return `@payable/${payable[1]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.includes('/bench/')) return 'bench';
  return url;
}

/** Self time (ms) by package and by function of one or more profiles. */
export function summarise(files: readonly string[]): {
  busyMs: number;
  byPackage: [string, number][];
  byFunction: [string, number][];
} {
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = nodes.get(id);
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return;
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      busy += ms;
      const pkg = functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
      const fn = `${functionName || '(anonymous)'} ${pkg}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    });
  }
  const sort = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { busyMs: busy, byPackage: sort(byPackage), byFunction: sort(byFunction) };
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(path, f));
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: profile-summary.ts <file-or-dir> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const { busyMs, byPackage, byFunction } = summarise(profilesIn(target));
  const pct = (ms: number) => `${((100 * ms) / busyMs).toFixed(1).padStart(5)}%`;
  console.log(`busy ${busyMs.toFixed(0)} ms`);
  console.log('\nself time by package:');
  for (const [name, ms] of byPackage.slice(0, top)) console.log(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  console.log('\ntop functions (self time):');
  for (const [name, ms] of byFunction.slice(0, top)) console.log(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${name}`);
}
