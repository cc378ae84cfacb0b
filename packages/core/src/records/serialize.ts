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

/**
 * Parse JSON produced by `JSON.stringify` of a record, reviving its dates: every string under a
 * known date key, at any depth, becomes a Date (what a `JSON.parse` reviver doing the same gives,
 * walked once in place over the freshly parsed value instead of through a callback per value).
 */
export function parseRecordJson<T>(json: string): T {
  const value: unknown = JSON.parse(json);
  if (typeof value === 'object' && value !== null) reviveDates(value, DATE_KEYS);
  return value as T;
}

/**
 * Turn the date strings of a freshly parsed JSON value (object or array) back into Dates, in
 * place: every string under one of `keys`, at any depth, that matches `pattern` when one is given;
 * a key named `skip` is not entered (e.g. a record's `metadata`, the user's own strings). Only
 * date keys are assigned, so a `"__proto__"` key in the JSON never reaches a prototype.
 *
 * @example
 * ```ts
 * const record = JSON.parse(row.data);
 * reviveDates(record, new Set(['createdAt', 'updatedAt']), { skip: 'metadata', pattern: ISO_DATE });
 * ```
 */
export function reviveDates(
  value: object,
  keys: ReadonlySet<string>,
  options: { skip?: string; pattern?: RegExp } = {},
): void {
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) reviveDates(item, keys, options);
    return;
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key === options.skip) continue;
    const v = o[key];
    if (typeof v === 'string') {
      if (keys.has(key) && (options.pattern === undefined || options.pattern.test(v))) o[key] = new Date(v);
    } else if (typeof v === 'object' && v !== null) {
      reviveDates(v, keys, options);
    }
  }
}
