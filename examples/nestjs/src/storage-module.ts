import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type StorageDriver, SystemClock } from '@payable/core';
import { KnexStorageDriver, migrate } from '@payable/storage-knex';
import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import knex from 'knex';
import { EXAMPLE_CONFIG, type ExampleConfig } from './config.js';

/** Injection token of the Payable storage driver (Knex on SQLite). */
export const STORAGE = 'PAYABLE_STORAGE';

/** Closes the storage (and its Knex pool) when the app shuts down, after Payable itself stopped. */
@Injectable()
export class StorageShutdown implements OnApplicationShutdown {
  constructor(@Inject(STORAGE) private readonly storage: StorageDriver) {}

  async onApplicationShutdown(): Promise<void> {
    await this.storage.close();
  }
}

/**
 * Payable's storage for the example: a SQLite file through Knex. `migrate(knex)` creates (or
 * updates) the tables first, on the same connection the driver then uses.
 */
@Module({
  providers: [
    {
      provide: STORAGE,
      inject: [EXAMPLE_CONFIG],
      useFactory: async (config: ExampleConfig): Promise<StorageDriver> => {
        mkdirSync(dirname(config.sqliteFile), { recursive: true });
        const db = knex({
          client: 'better-sqlite3',
          connection: { filename: config.sqliteFile },
          useNullAsDefault: true,
        });
        await migrate(db);
        return new KnexStorageDriver(db, new SystemClock());
      },
    },
    StorageShutdown,
  ],
  exports: [STORAGE],
})
export class StorageModule {}
