export { KnexStorageDriver, type KnexStorageOptions } from './knex-storage.js';
export {
  migrate,
  type MigrateOptions,
  type MigrateResult,
  SCHEMA_VERSION,
  schemaVersion,
  type SchemaVersionOptions,
} from './migrate.js';
export { DEFAULT_TABLE_PREFIX, tableNames, type TableNames } from './tables.js';
export type { KnexDialect } from './dialect.js';
