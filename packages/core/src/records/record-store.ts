import type { EncryptionDriver } from '../encryption/types.js';
import type { RecordQuery, StorageSession } from '../storage/types.js';
import type { CustomerRecord, Page, RecordByKind, RecordKind } from './types.js';

type PiiField = 'email' | 'name';
const PII_FIELDS: Partial<Record<RecordKind, readonly PiiField[]>> = { customer: ['email', 'name'] };

/**
 * Reads and writes billing records through a storage session, encrypting PII fields on the way in
 * and decrypting them on the way out when an encryption driver is configured. Storage drivers
 * never see plaintext PII.
 */
export class RecordStore {
  constructor(private readonly encryption: EncryptionDriver | null) {}

  private seal<K extends RecordKind>(kind: K, record: RecordByKind[K]): RecordByKind[K] {
    const fields = PII_FIELDS[kind];
    if (!this.encryption || !fields) return record;
    const copy = { ...record } as CustomerRecord;
    for (const f of fields) {
      const v = copy[f];
      if (typeof v === 'string') copy[f] = this.encryption.encrypt(v, `${kind}:${record.id}:${f}`);
    }
    return copy as unknown as RecordByKind[K];
  }

  private open<K extends RecordKind>(kind: K, record: RecordByKind[K] | null): RecordByKind[K] | null {
    const fields = PII_FIELDS[kind];
    if (!record || !this.encryption || !fields) return record;
    const copy = { ...record } as CustomerRecord;
    for (const f of fields) {
      const v = copy[f];
      if (typeof v === 'string') copy[f] = this.encryption.decrypt(v, `${kind}:${record.id}:${f}`);
    }
    return copy as unknown as RecordByKind[K];
  }

  async get<K extends RecordKind>(
    s: StorageSession,
    kind: K,
    id: string,
    tenantId: string | null,
    forUpdate = false,
  ): Promise<RecordByKind[K] | null> {
    return this.open(kind, await s.getRecord(kind, id, tenantId, { forUpdate }));
  }

  async find<K extends RecordKind>(
    s: StorageSession,
    kind: K,
    tenantId: string | null,
    provider: string,
    providerId: string,
    forUpdate = false,
  ): Promise<RecordByKind[K] | null> {
    return this.open(kind, await s.findRecord(kind, { tenantId, provider, providerId }, { forUpdate }));
  }

  async insert<K extends RecordKind>(
    s: StorageSession,
    kind: K,
    record: RecordByKind[K],
  ): Promise<{ inserted: boolean; record: RecordByKind[K] }> {
    const result = await s.insertRecord(kind, this.seal(kind, record));
    return { inserted: result.inserted, record: this.open(kind, result.record) as RecordByKind[K] };
  }

  async update<K extends RecordKind>(s: StorageSession, kind: K, record: RecordByKind[K]): Promise<void> {
    await s.updateRecord(kind, this.seal(kind, record));
  }

  async list<K extends RecordKind>(s: StorageSession, kind: K, query: RecordQuery): Promise<Page<RecordByKind[K]>> {
    const page = await s.listRecords(kind, query);
    return { ...page, data: page.data.map((r) => this.open(kind, r) as RecordByKind[K]) };
  }
}
