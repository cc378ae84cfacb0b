import {
  type DynamicModule,
  Global,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ValidationError } from '@payable/core';
import { PayableHttpBridge } from './http-bridge.js';
import {
  assertModuleOptions,
  type PayableControllerDecorators,
  type PayableModuleAsyncOptions,
  type PayableModuleOptions,
  type PayableModuleRootOptions,
  type PayableOptionsFactory,
} from './options.js';
import { createPayableController } from './payable-controller.js';
import { PayableEventsExplorer } from './payable-events-explorer.js';
import { PayableService } from './payable-service.js';
import { PAYABLE, PAYABLE_CONTROLLER, PAYABLE_MODULE_OPTIONS } from './tokens.js';

/**
 * The Payable module for NestJS (Express and Fastify platforms). Register it once, in the root
 * module, with `forRoot` (a ready `payable`) or `forRootAsync` (options from a factory, the
 * `@nestjs/bull` way). It is global: `PayableService`, the `PAYABLE` token (`@InjectPayable()`) and
 * `PAYABLE_MODULE_OPTIONS` can be injected anywhere.
 *
 * It serves every route of the core HTTP handler (`createHttpHandler`) under `prefix` through one
 * catch-all controller: webhooks, payments, refunds, customers, checkout, subscriptions, invoices,
 * webhook event admin and health, with the core's exact status codes, headers and JSON bodies.
 * Webhook signatures need the exact request bytes: create the app with
 * `NestFactory.create(AppModule, { rawBody: true })`; without it webhook routes answer 400
 * `INVALID_WEBHOOK_PAYLOAD` naming that setting. Provider methods decorated with
 * `@OnPayableEvent(type)` are subscribed to processed webhook events.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     PayableModule.forRoot({
 *       payable,
 *       prefix: '/payable',
 *       authorize: (req) => req.headers.authorization === `Bearer ${process.env.PAYABLE_API_TOKEN}`,
 *     }),
 *   ],
 * })
 * class AppModule {}
 *
 * const app = await NestFactory.create(AppModule, { rawBody: true });
 * await app.listen(3000); // webhooks: POST /payable/webhooks/stripe
 * ```
 */
@Global()
@Module({})
export class PayableModule implements NestModule {
  constructor(@Inject(PayableHttpBridge) private readonly bridge: PayableHttpBridge) {}

  /**
   * Register the module with a ready `payable` and the HTTP options.
   *
   * @example
   * ```ts
   * PayableModule.forRoot({ payable, prefix: '/payable', authorize: (req) => isAdmin(req.headers) });
   * ```
   */
  static forRoot(options: PayableModuleRootOptions): DynamicModule {
    const { controllerDecorators, ...moduleOptions } = options;
    return PayableModule.build(
      [{ provide: PAYABLE_MODULE_OPTIONS, useValue: moduleOptions }],
      [],
      controllerDecorators,
    );
  }

  /**
   * Register the module with options built by a factory (`useFactory` + `inject`), a class
   * (`useClass`) or an existing provider (`useExisting`) implementing `PayableOptionsFactory`.
   *
   * @example
   * ```ts
   * PayableModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ payable: buildPayable(config), prefix: config.get('PAYABLE_PREFIX') }),
   * });
   * ```
   */
  static forRootAsync(options: PayableModuleAsyncOptions): DynamicModule {
    return PayableModule.build(asyncOptionProviders(options), options.imports ?? [], options.controllerDecorators);
  }

  private static build(
    optionProviders: Provider[],
    imports: NonNullable<PayableModuleAsyncOptions['imports']>,
    decorators: PayableControllerDecorators | undefined,
  ): DynamicModule {
    const controller = createPayableController(decorators);
    return {
      module: PayableModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      controllers: [controller],
      providers: [
        ...optionProviders,
        { provide: PAYABLE_CONTROLLER, useValue: controller },
        {
          provide: PAYABLE,
          useFactory: (resolved: unknown) => {
            assertModuleOptions(resolved);
            return resolved.payable;
          },
          inject: [PAYABLE_MODULE_OPTIONS],
        },
        PayableService,
        PayableHttpBridge,
        PayableEventsExplorer,
      ],
      exports: [PAYABLE, PAYABLE_MODULE_OPTIONS, PayableService],
    };
  }

  /**
   * Nest calls this after every provider exists (the `forRootAsync` factory has run) and before it
   * registers routes: the moment the controller gets its routes for the app's platform.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.bridge.registerRoutes();
  }
}

function asyncOptionProviders(options: PayableModuleAsyncOptions): Provider[] {
  if (options.useFactory !== undefined) {
    return [
      {
        provide: PAYABLE_MODULE_OPTIONS,
        useFactory: options.useFactory as (...args: unknown[]) => PayableModuleOptions | Promise<PayableModuleOptions>,
        inject: options.inject ?? [],
      },
    ];
  }
  const factory = options.useExisting ?? options.useClass;
  if (factory === undefined) {
    throw new ValidationError('PayableModule.forRootAsync needs useFactory, useClass or useExisting', {
      context: { field: 'useFactory', reason: 'one of useFactory, useClass, useExisting is required' },
    });
  }
  const providers: Provider[] = [
    {
      provide: PAYABLE_MODULE_OPTIONS,
      useFactory: (optionsFactory: PayableOptionsFactory) => optionsFactory.createPayableOptions(),
      inject: [factory],
    },
  ];
  if (options.useExisting === undefined && options.useClass !== undefined) {
    providers.push({ provide: options.useClass, useClass: options.useClass });
  }
  return providers;
}
