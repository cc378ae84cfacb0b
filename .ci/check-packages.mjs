// Checks the published shape of every public package: publint (exports, files, types) and
// are-the-types-wrong (types resolve for ESM and CJS consumers). Needs `pnpm build` first.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const failures = [];
for (const name of readdirSync('packages')) {
  const dir = `packages/${name}`;
  const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  if (pkg.private) continue;
  for (const [tool, args] of [
    ['publint', [dir, '--strict']],
    ['attw', ['--pack', dir, '--profile', 'node16', '--format', 'ascii']],
  ]) {
    try {
      execFileSync('pnpm', ['exec', tool, ...args], { stdio: 'pipe' });
      console.log(`ok    ${tool} ${pkg.name}`);
    } catch (error) {
      failures.push(`${tool} ${pkg.name}`);
      console.log(`FAIL  ${tool} ${pkg.name}\n${error.stdout?.toString() ?? ''}${error.stderr?.toString() ?? ''}`);
    }
  }
}
if (failures.length > 0) {
  console.log(`\n${failures.length} package check(s) failed: ${failures.join(', ')}`);
  process.exit(1);
}
