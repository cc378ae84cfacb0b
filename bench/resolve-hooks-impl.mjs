// The resolve hook registered by resolve-hooks.mjs (module.register needs it in its own file).
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Where bare specifiers are looked up, in order, when the importing file cannot resolve them. */
const BASES = [
  'packages/storage-knex',
  'packages/queue-bullmq',
  'packages/express',
  'packages/fastify',
  'packages/nestjs',
  'packages/testing',
  'packages/core',
].map((dir) => pathToFileURL(`${root}${dir}/package.json`).href);

/** How long to wait for a workspace package's dist/ to come back (a concurrent build cleans it first). */
const DIST_WAIT_MS = 120_000;

async function fromBases(specifier, context, nextResolve) {
  for (const parentURL of BASES) {
    try {
      return await nextResolve(specifier, { ...context, parentURL });
    } catch {
      // try the next package
    }
  }
  return null;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
    if (!bare || (error && error.code !== 'ERR_MODULE_NOT_FOUND')) throw error;
    const deadline = Date.now() + (specifier.startsWith('@payable/') ? DIST_WAIT_MS : 0);
    for (;;) {
      const found = await fromBases(specifier, context, nextResolve);
      if (found) return found;
      if (Date.now() >= deadline) throw error;
      await sleep(1000);
    }
  }
}
