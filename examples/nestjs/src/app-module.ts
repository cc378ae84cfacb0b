import { createPayable, type Payable, type StorageDriver } from '@payable/core';
import { InjectPayable, PayableModule } from '@payable/nestjs';
import { FakeProvider } from '@payable/testing';
import { type DynamicModule, Global, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { EXAMPLE_CONFIG, type ExampleConfig, hasBearerToken } from './config.js';
import { Fulfilment, ShopController } from './shop.js';
import { STORAGE, StorageModule } from './storage-module.js';

/** Where Payable's routes live: `POST /payable/webhooks/fake`, `POST /payable/payments`, … */
export const PAYABLE_PREFIX = '/payable';

/** The example's configuration, available to every module. */
@Global()
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static register()
export class ConfigModule {
  static register(config: ExampleConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: EXAMPLE_CONFIG, useValue: config }],
      exports: [EXAMPLE_CONFIG],
    };
  }
}

/** Stops Payable (its queue and sweeper) when the app shuts down; the storage closes after it. */
@Injectable()
export class PayableShutdown implements OnModuleDestroy {
  constructor(@InjectPayable() private readonly payable: Payable) {}

  async onModuleDestroy(): Promise<void> {
    await this.payable.close();
  }
}

/**
 * The shop: Payable on SQLite with the fake provider, its routes under `/payable` (management
 * routes need `Authorization: Bearer <PAYABLE_API_TOKEN>`), and the shop's own module.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static register()
export class AppModule {
  static register(config: ExampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        PayableModule.forRootAsync({
          imports: [StorageModule],
          inject: [EXAMPLE_CONFIG, STORAGE],
          useFactory: (settings: ExampleConfig, storage: StorageDriver) => ({
            payable: createPayable({
              providers: { fake: new FakeProvider({ secret: settings.webhookSecret }) },
              storage,
            }),
            prefix: PAYABLE_PREFIX,
            // Management routes need the bearer token; webhooks (signed) and /health do not.
            authorize: (req) => hasBearerToken(req, settings.apiToken),
          }),
        }),
      ],
      controllers: [ShopController],
      providers: [Fulfilment, PayableShutdown],
    };
  }
}
