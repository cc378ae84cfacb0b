const DATE_KEYS = new Set([
  'createdAt',
  'updatedAt',
  'expiresAt',
  'currentPeriodEnd',
  'canceledAt',
  'trialEnd',
  'quotedAt',
  'receivedAt',
  'processedAt',
]);

/** Turn the ISO strings of known date fields back into Dates, at any depth. */
export function reviveDates<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    DATE_KEYS.has(key) && typeof v === 'string' ? new Date(v) : v,
  ) as T;
}

/** Parse JSON produced by `JSON.stringify` of a record, reviving its dates. */
export function parseRecordJson<T>(json: string): T {
  return JSON.parse(json, (key, v: unknown) => (DATE_KEYS.has(key) && typeof v === 'string' ? new Date(v) : v)) as T;
}
