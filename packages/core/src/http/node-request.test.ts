import { headersOf, queryOf, splitRequestUrl } from '@payable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('splitRequestUrl', () => {
  it('splits at the first ? and keeps the path as received', () => {
    expect(splitRequestUrl('/payable/payments/pay%2F1?x=1&y=?')).toEqual({
      path: '/payable/payments/pay%2F1',
      search: 'x=1&y=?',
    });
    expect(splitRequestUrl('/health')).toEqual({ path: '/health', search: '' });
    expect(splitRequestUrl('/a?')).toEqual({ path: '/a', search: '' });
  });
});

describe('headersOf', () => {
  it('lowercases names and drops absent values, keeping arrays', () => {
    expect(
      headersOf({ 'X-Mixed-Case': 'Value', 'Set-Cookie': ['a=1', 'b=2'], 'x-absent': undefined, authorization: 'x' }),
    ).toEqual({ 'x-mixed-case': 'Value', 'set-cookie': ['a=1', 'b=2'], authorization: 'x' });
  });

  it('a header named __proto__ is a plain header, never the prototype', () => {
    const raw = JSON.parse('{"__proto__":"x","Host":"a"}') as Record<string, string>;
    const headers = headersOf(raw);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers)).toEqual(['__proto__', 'host']);
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('x');
  });

  it('the same headers as lowercasing every present name, for any headers', () => {
    const value = fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), { nil: undefined });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (raw) => {
        const expected = Object.fromEntries(
          Object.entries(raw)
            .filter(([, v]) => v !== undefined)
            .map(([name, v]) => [name.toLowerCase(), v]),
        );
        expect(headersOf(raw)).toEqual(expected);
      }),
    );
  });
});

describe('queryOf', () => {
  it('a repeated key gives an array in order; a single one a string; a string or URLSearchParams alike', () => {
    const expected = { status: ['paid', 'failed'], limit: '10', empty: '', 'a b': 'c&d' };
    const search = 'status=paid&limit=10&status=failed&empty=&a+b=c%26d';
    expect(queryOf(search)).toEqual(expected);
    expect(queryOf(`?${search}`)).toEqual(expected);
    expect(queryOf(new URLSearchParams(search))).toEqual(expected);
    expect(queryOf('')).toEqual({});
  });

  it('keys named like Object.prototype members are plain keys', () => {
    const query = queryOf('toString=a&__proto__=b&__proto__=c&constructor=d');
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(Object.keys(query)).toEqual(['toString', '__proto__', 'constructor']);
    expect(query.toString).toBe('a');
    expect(Object.getOwnPropertyDescriptor(query, '__proto__')?.value).toEqual(['b', 'c']);
    expect(query.constructor).toBe('d');
  });

  it('holds every value URLSearchParams decodes, for any pairs', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 12 }), (pairs) => {
        const params = new URLSearchParams(pairs);
        const query = queryOf(params.toString());
        expect(Object.keys(query).sort()).toEqual([...new Set(params.keys())].sort());
        for (const key of params.keys()) {
          const all = params.getAll(key);
          expect(query[key]).toEqual(all.length === 1 ? all[0] : all);
        }
      }),
    );
  });
});
