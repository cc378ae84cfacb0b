import { describe, expect, it } from 'vitest';
import { parseRecordJson } from './serialize.js';

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
