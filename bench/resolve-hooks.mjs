// Module resolution for the benchmarks. The repository root has no runtime dependencies of its own
// (the benchmarks must not add any), so a bare specifier the root cannot resolve ('pg', 'bullmq',
// 'express', '@payable/core', ...) is resolved as if imported from the workspace packages that
// depend on it. Loaded with `node --import ./bench/resolve-hooks.mjs`.
import { register } from 'node:module';

register('./resolve-hooks-impl.mjs', import.meta.url);
