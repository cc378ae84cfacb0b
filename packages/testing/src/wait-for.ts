/**
 * Polls `condition` every few milliseconds until it returns (or resolves to) `true`, and rejects
 * with an Error naming the timeout when it has not within `timeoutMs` (default 5000). An error
 * thrown by the condition rejects at once. Use it to wait for work an asynchronous driver does
 * in the background (a queue worker, an outbox relay) instead of sleeping a fixed time.
 *
 * @example
 * ```ts
 * await queue.dispatch('webhook.process', { eventId });
 * await waitFor(() => handled.length === 1, 2000);
 * ```
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: the condition was still false after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
