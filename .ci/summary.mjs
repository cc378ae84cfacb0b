// Prints "N passed, N failed" from a JUnit XML report (vitest's junit reporter).
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.test-results/junit.xml';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const xml = readFileSync(file, 'utf8');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const match of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const body = match[2] ?? '';
  if (/<(failure|error)\b/.test(body)) failed++;
  else if (/<skipped\b/.test(body)) skipped++;
  else passed++;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
