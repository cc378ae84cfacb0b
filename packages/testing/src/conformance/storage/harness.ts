import type { StorageDriver } from '@payable/core';

/** Registers one conformance test: `fn` receives the fresh driver of that test. */
export type DefineTest = (title: string, fn: (driver: StorageDriver) => Promise<void>) => void;

/** Runs `count` copies of `fn` at once and waits for all of them. */
export function concurrently<T>(count: number, fn: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => fn(index)));
}

/** Collects every item of a paginated list by following `nextCursor` (at most `maxPages` pages). */
export async function collectPages<T>(
  load: (cursor: string | null) => Promise<{ data: T[]; hasMore: boolean; nextCursor: string | null }>,
  maxPages = 100,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await load(cursor);
    pages.push(page.data);
    if (!page.hasMore) return pages;
    cursor = page.nextCursor;
    if (cursor === null) throw new Error('hasMore is true but nextCursor is null');
  }
  throw new Error(`pagination did not end after ${maxPages} pages`);
}

/** `value`, or a failed assertion naming `what` when it is null or undefined (narrows the type). */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${String(value)}`);
  return value;
}
