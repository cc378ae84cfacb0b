/** A parsed Stripe form value: a string, or nested objects and arrays of them. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

/** A parsed Stripe form body or query string. */
export type FormParams = { [key: string]: FormValue };

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** `a[b][0][c]` → `['a', 'b', '0', 'c']`; `null` for a key that is not of that shape. */
function segmentsOf(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const segments = [key.slice(0, open)];
  const rest = key.slice(open);
  const pattern = /\[([^[\]]*)\]/g;
  let consumed = 0;
  for (let match = pattern.exec(rest); match !== null; match = pattern.exec(rest)) {
    if (match.index !== consumed) return null;
    segments.push(match[1] ?? '');
    consumed = match.index + match[0].length;
  }
  return consumed === rest.length ? segments : null;
}

type Node = { [key: string]: Node | string };

/** Objects whose keys are all array indices (`0`, `1`, …) become arrays, in index order. */
function finish(node: Node | string): FormValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => finish(node[String(i)] as Node | string));
  }
  const out: { [key: string]: FormValue } = {};
  for (const key of keys) out[key] = finish(node[key] as Node | string);
  return out;
}

/**
 * Parses a Stripe-style form body or query string (`metadata[order]=42&items[0][price]=price_1`)
 * into nested objects and arrays, as the Stripe API reads it. Brackets may be percent-encoded.
 * Keys that could pollute prototypes are dropped. An empty array key (`expand[]=a`) appends.
 *
 * @example
 * ```ts
 * parseStripeForm('amount=100&metadata[a]=b&expand[0]=latest_charge');
 * // { amount: '100', metadata: { a: 'b' }, expand: ['latest_charge'] }
 * ```
 */
export function parseStripeForm(body: string): FormParams {
  const root: Node = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const segments = segmentsOf(rawKey);
    if (segments === null || segments.some((s) => FORBIDDEN.has(s)) || segments[0] === '') continue;
    let node: Node = root;
    for (let i = 0; i < segments.length; i++) {
      let segment = segments[i] as string;
      if (segment === '') segment = String(Object.keys(node).length);
      if (i === segments.length - 1) {
        node[segment] = value;
      } else {
        const next = node[segment];
        if (typeof next === 'object') {
          node = next;
        } else {
          const child: Node = {};
          node[segment] = child;
          node = child;
        }
      }
    }
  }
  const params: FormParams = {};
  for (const key of Object.keys(root)) params[key] = finish(root[key] as Node | string);
  return params;
}
