import { type HttpHandlerOptions, type Payable, ValidationError } from '@payable/core';
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';

/**
 * Options of `PayableModule.forRoot` (and what a `forRootAsync` factory returns): the facade to
 * serve plus the options of the core HTTP handler (`prefix`, `authorize`, `bodyLimit`,
 * `webhookSignatureHeader`, `hooks`).
 *
 * - `prefix`: the routes live under this path (default: the root). Nest's global prefix, URI
 *   versioning and `RouterModule` paths come on top of it.
 * - `authorize(req)`: decides management routes (all but `POST /webhooks…` and `GET /health`);
 *   without it they answer 401 `UNAUTHORIZED`. It receives the framework-neutral request, whose
 *   `path` starts at `prefix` (Nest's global prefix is not part of it).
 * - `bodyLimit`: largest accepted body in bytes (default 1 MiB): 413 `PAYLOAD_TOO_LARGE`. On the
 *   Fastify platform it is also the route's body limit; on Express, Nest's JSON parser keeps its own
 *   limit (100 KB unless raised with `app.useBodyParser('json', { limit })`).
 * - `webhookSignatureHeader`: the header the provider's signature is read from.
 * - `hooks`: `onRequest`, `onResponse`, `onError` for logging and metrics.
 *
 * @example
 * ```ts
 * const options: PayableModuleOptions = {
 *   payable,
 *   prefix: '/payable',
 *   authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 * };
 * PayableModule.forRoot(options);
 * ```
 */
export interface PayableModuleOptions extends HttpHandlerOptions {
  /** The facade `createPayable(...)` returned. The module does not close it: your app owns it. */
  payable: Payable;
}

/**
 * Decorators applied to the controller the module registers, e.g. your `@Public()` so a global
 * authentication guard lets provider webhooks through, or `@SkipThrottle()`. Management routes are
 * still protected by `authorize`.
 *
 * @example
 * ```ts
 * const decorators: PayableControllerDecorators = [SetMetadata('isPublic', true)];
 * PayableModule.forRoot({ payable, controllerDecorators: decorators });
 * ```
 */
export type PayableControllerDecorators = ReadonlyArray<ClassDecorator>;

/**
 * What `PayableModule.forRoot` takes: the module options plus the decorators for its controller.
 *
 * @example
 * ```ts
 * PayableModule.forRoot({ payable, prefix: '/payable', controllerDecorators: [Public()] });
 * ```
 */
export interface PayableModuleRootOptions extends PayableModuleOptions {
  controllerDecorators?: PayableControllerDecorators;
}

/**
 * A class that builds the module options, for `forRootAsync({ useClass })` and
 * `forRootAsync({ useExisting })`.
 *
 * @example
 * ```ts
 * @Injectable()
 * class PayableConfig implements PayableOptionsFactory {
 *   constructor(@Inject(ConfigService) private readonly config: ConfigService) {}
 *   createPayableOptions(): PayableModuleOptions {
 *     return { payable: createPayable({ providers: { fake: new FakeProvider() } }), prefix: this.config.get('PAYABLE_PREFIX') };
 *   }
 * }
 * ```
 */
export interface PayableOptionsFactory {
  createPayableOptions(): PayableModuleOptions | Promise<PayableModuleOptions>;
}

/**
 * Options of `PayableModule.forRootAsync`: where the module options come from, the way
 * `@nestjs/bull` does it. Exactly one of `useFactory`, `useClass`, `useExisting`. Every option,
 * `prefix` included, may come from the factory: the routes are registered after it ran.
 *
 * @example
 * ```ts
 * PayableModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     payable: createPayable({ providers: { stripe: new StripeProvider(config.stripe) }, storage }),
 *     prefix: config.payablePrefix,
 *   }),
 * });
 * ```
 */
export interface PayableModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options; its parameters are the `inject` tokens, resolved. */
  useFactory?: (...args: never[]) => PayableModuleOptions | Promise<PayableModuleOptions>;
  /** Tokens whose providers are passed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /** A class the module instantiates (with its own dependencies) to build the options. */
  useClass?: Type<PayableOptionsFactory>;
  /** An existing provider (from `imports`) that builds the options. */
  useExisting?: Type<PayableOptionsFactory>;
  /** Decorators for the module's controller (see {@link PayableControllerDecorators}). */
  controllerDecorators?: PayableControllerDecorators;
}

/**
 * Throws `VALIDATION_ERROR` (field `payable`) unless `options` carries a Payable facade.
 *
 * @example
 * ```ts
 * assertModuleOptions(await factory()); // at bootstrap, before any route exists
 * ```
 */
export function assertModuleOptions(options: unknown): asserts options is PayableModuleOptions {
  const payable = isRecord(options) ? options.payable : undefined;
  if (!isRecord(payable) || !isRecord(payable.webhooks) || typeof payable.execute !== 'function') {
    throw new ValidationError(
      'PayableModule needs the Payable facade: PayableModule.forRoot({ payable }) or a forRootAsync factory returning { payable }',
      { context: { field: 'payable', reason: 'is required: the object createPayable() returns' } },
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
