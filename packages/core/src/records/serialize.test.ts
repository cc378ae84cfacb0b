import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRecordJson, stringifyJson } from './serialize.js';

describe('parseRecordJson', () => {
  it('revives the dates of known keys at any depth, in arrays too, and leaves other strings alone', () => {
    const at = new Date('2026-12-06T10:00:00.000Z');
    const text = JSON.stringify({
      id: 'evt_1',
      createdAt: at,
      object: { kind: 'payment', expiresAt: at, status: 'succeeded', lightning: null },
      list: [{ updatedAt: at }, 'createdAt', 3],
      name: '2026-12-06T10:00:00.000Z',
    });
    const parsed = parseRecordJson<{
      createdAt: Date;
      object: { expiresAt: Date; status: string; lightning: null };
      list: [{ updatedAt: Date }, string, number];
      name: string;
    }>(text);
    expect(parsed.createdAt).toEqual(at);
    expect(parsed.object.expiresAt).toEqual(at);
    expect(parsed.object.status).toBe('succeeded');
    expect(parsed.object.lightning).toBeNull();
    expect(parsed.list[0].updatedAt).toEqual(at);
    expect(parsed.list.slice(1)).toEqual(['createdAt', 3]);
    expect(parsed.name).toBe('2026-12-06T10:00:00.000Z');
  });

  it('a "__proto__" key stays a plain property: nothing reaches the prototype', () => {
    const parsed = parseRecordJson<Record<string, unknown>>('{"__proto__":{"createdAt":"x","polluted":true},"a":1}');
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(parsed.a).toBe(1);
  });

  it('JSON that is not an object comes back as it is', () => {
    expect(parseRecordJson<number>('3')).toBe(3);
    expect(parseRecordJson<null>('null')).toBeNull();
    expect(parseRecordJson<string>('"createdAt"')).toBe('createdAt');
  });
});

describe('stringifyJson', () => {
  it('gives the text JSON.stringify gives, Dates at any depth included, and leaves the value as it was', () => {
    const at = new Date('2026-12-06T10:00:00.000Z');
    const value = {
      id: 'pay_1',
      createdAt: at,
      object: { kind: 'payment', expiresAt: at, amount: 1999, none: null, gone: undefined },
      list: [at, { updatedAt: at }, 'x', [at]],
      invalid: new Date(Number.NaN),
    };
    const before = JSON.stringify(value);
    expect(stringifyJson(value)).toBe(before);
    expect(value.createdAt).toBe(at);
    expect(value.list[0]).toBe(at);
    expect(value.object.expiresAt).toBe(at);
    expect(JSON.stringify(value)).toBe(before);
  });

  it('matches JSON.stringify on any JSON-like value with Dates in it', () => {
    const date = fc.date({ noInvalidDate: false });
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      date,
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string(), tie('node'))),
    })).node;
    fc.assert(fc.property(tree, (value) => stringifyJson(value) === JSON.stringify(value)));
  });

  it('keeps an own "__proto__" key a property, and leaves class instances and toJSON objects to JSON.stringify', () => {
    const at = new Date(0);
    const parsed = JSON.parse('{"__proto__":{"a":1},"b":2}') as Record<string, unknown>;
    parsed.when = at;
    expect(stringifyJson(parsed)).toBe(JSON.stringify(parsed));
    expect(stringifyJson(parsed)).toContain('"__proto__":{"a":1}');
    const proto = JSON.parse('{"__proto__":{"at":"x"}}') as Record<string, unknown>;
    (Object.getOwnPropertyDescriptor(proto, '__proto__')?.value as Record<string, unknown>).at = at;
    expect(stringifyJson(proto)).toBe(JSON.stringify(proto));

    class Money {
      constructor(
        readonly amount: number,
        readonly at: Date,
      ) {}
    }
    const custom = { toJSON: () => ({ replaced: true }), at };
    const value = { money: new Money(5, at), custom, nested: [custom] };
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
  });

  it('serializes scalars and top-level Dates like JSON.stringify', () => {
    for (const value of [1, 'a', null, true, new Date(5), new Date(Number.NaN), [], {}]) {
      expect(stringifyJson(value)).toBe(JSON.stringify(value));
    }
    expect(stringifyJson(undefined)).toBeUndefined();
  });
});
