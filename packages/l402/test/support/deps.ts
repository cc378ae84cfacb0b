/**
 * Test-only access to the frameworks, databases and workspace packages the end-to-end tests use.
 *
 * `@payable/l402` does not list Express, Fastify, Nest, knex, ioredis or `@payable/lightning` /
 * `@payable/storage-knex` as devDependencies yet, so they are loaded from workspace packages that
 * do (third-party ones with `createRequire`, workspace ones through vitest's `@payable/*` alias),
 * typed structurally with only what the tests call.
 */
import { createRequire } from 'node:module';
import type { Clock, PaymentProvider, StorageDriver } from '@payable/core';

const fromTestSupport = createRequire(new URL('../../../test-support/package.json', import.meta.url));
const fromStorageKnex = createRequire(new URL('../../../storage-knex/package.json', import.meta.url));
const fromQueueBullmq = createRequire(new URL('../../../queue-bullmq/package.json', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: handlers of any framework signature are accepted
type AnyHandler = (...args: any[]) => unknown;

/** The Node server an app listens with. */
export interface ListeningServer {
  address(): { port: number } | string | null;
  close(callback?: (error?: Error) => void): unknown;
  closeAllConnections(): void;
}

/** The part of an Express app the tests use. */
export interface ExpressApp {
  get(path: string, ...handlers: AnyHandler[]): unknown;
  use(...handlers: unknown[]): unknown;
  listen(port: number, host: string, callback: () => void): ListeningServer;
}

/** `express()` with `express.json()`. */
export type ExpressFactory = () => ExpressApp;

/** The part of a Fastify instance the tests use. */
export interface FastifyApp {
  get(path: string, options: { preHandler?: AnyHandler }, handler: AnyHandler): unknown;
  get(path: string, handler: AnyHandler): unknown;
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}

export const express = fromTestSupport('express') as ExpressFactory;
export const fastify = fromTestSupport('fastify') as (options?: object) => FastifyApp;

/** The pieces of Nest the tests use (decorators applied by hand). */
export interface NestKit {
  Controller(prefix?: string): (target: object) => void;
  Get(path?: string): (target: object, key: string, descriptor: PropertyDescriptor) => void;
  Req(): (target: object, key: string, index: number) => void;
  UseGuards(...guards: object[]): (target: object, key?: string, descriptor?: PropertyDescriptor) => void;
  Module(metadata: { controllers?: unknown[] }): (target: object) => void;
  NestFactory: {
    create(
      module: unknown,
      adapter: unknown,
      options: object,
    ): Promise<{
      listen(port: number, host: string): Promise<unknown>;
      getHttpServer(): { address(): { port: number } };
      useGlobalGuards(...guards: object[]): void;
      close(): Promise<void>;
    }>;
  };
  ExpressAdapter: new () => object;
  FastifyAdapter: new () => object;
}

let nest: NestKit | null = null;

/** Nest, loaded once (with `reflect-metadata`). */
export function nestKit(): NestKit {
  if (nest) return nest;
  fromTestSupport('reflect-metadata');
  const common = fromTestSupport('@nestjs/common') as Pick<
    NestKit,
    'Controller' | 'Get' | 'Req' | 'UseGuards' | 'Module'
  >;
  const core = fromTestSupport('@nestjs/core') as Pick<NestKit, 'NestFactory'>;
  const platformExpress = fromTestSupport('@nestjs/platform-express') as Pick<NestKit, 'ExpressAdapter'>;
  const platformFastify = fromTestSupport('@nestjs/platform-fastify') as Pick<NestKit, 'FastifyAdapter'>;
  nest = {
    Controller: common.Controller,
    Get: common.Get,
    Req: common.Req,
    UseGuards: common.UseGuards,
    Module: common.Module,
    NestFactory: core.NestFactory,
    ExpressAdapter: platformExpress.ExpressAdapter,
    FastifyAdapter: platformFastify.FastifyAdapter,
  };
  return nest;
}

/** The part of a knex instance the tests use. */
export interface KnexLike {
  destroy(): Promise<void>;
  (table: string): { select(column: string): Promise<Record<string, unknown>[]> };
}

/** `knex({ client: 'better-sqlite3', ... })`. */
export const knex = fromStorageKnex('knex') as (config: object) => KnexLike;

/** The part of an ioredis client the tests use. */
export interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<unknown>;
  pttl(key: string): Promise<number>;
  keys(pattern: string): Promise<string[]>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}

/** A client of the local Redis (127.0.0.1:6379). */
export function redisClient(): RedisLike {
  const { Redis } = fromQueueBullmq('ioredis') as { Redis: new (url: string, options: object) => RedisLike };
  return new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
}

/** What the tests use of `@payable/lightning`. */
export interface LightningKit {
  encodeInvoice(fields: object, privateKey: string): string;
  decodeInvoice(invoice: string): { amountMsat: bigint | null; paymentHash: string; network: string; expiry: number };
  LndProvider: new (options: { url: string; macaroon: string; clock?: Clock }) => PaymentProvider;
}

/** What the tests use of `@payable/storage-knex`. */
export interface StorageKnexKit {
  KnexStorageDriver: new (knex: KnexLike, clock?: Clock, options?: object) => StorageDriver;
  migrate(knex: KnexLike): Promise<unknown>;
}

const LIGHTNING = '@payable/lightning';
const STORAGE_KNEX = '@payable/storage-knex';

/** `@payable/lightning` (through vitest's alias to its sources). */
export async function lightningKit(): Promise<LightningKit> {
  return (await import(/* @vite-ignore */ LIGHTNING)) as LightningKit;
}

/** `@payable/storage-knex` (through vitest's alias to its sources). */
export async function storageKnexKit(): Promise<StorageKnexKit> {
  return (await import(/* @vite-ignore */ STORAGE_KNEX)) as StorageKnexKit;
}
