/**
 * CPU profiling of a measured phase only (not start-up or warm-up), through the inspector: a
 * process starts and stops its own profiler and writes a `.cpuprofile` that
 * bench/profile-summary.ts reads.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tellParent } from './shared.js';

/** Starts the CPU profiler of this process; the returned function stops it and writes `file`. */
export async function startCpuProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * In a worker process: profile between the parent's `profile-start` and `profile-stop` messages,
 * answering `profile-started` and `profile-done`.
 */
export function profileOnRequest(): void {
  let stop: ((file: string) => Promise<void>) | null = null;
  process.on('message', (message: { type?: string; file?: string }) => {
    if (message?.type === 'profile-start') {
      void startCpuProfile().then((s) => {
        stop = s;
        tellParent({ type: 'profile-started' });
      });
    } else if (message?.type === 'profile-stop' && stop && message.file) {
      const s = stop;
      stop = null;
      void s(message.file).then(() => tellParent({ type: 'profile-done' }));
    }
  });
}
