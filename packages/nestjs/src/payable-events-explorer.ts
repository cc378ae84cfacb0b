import type { Payable, WebhookHandler, WebhookHandlerEvent } from '@payable/core';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { payableEventTypes } from './on-payable-event.js';
import { PAYABLE } from './tokens.js';

/**
 * Finds the `@OnPayableEvent` methods of every singleton provider when the module starts and
 * registers them with `payable.on`; removes them when the module is destroyed.
 *
 * @example
 * ```ts
 * // Internal: PayableModule provides it. What it does for each decorated method:
 * payable.on('payment.succeeded', (event) => instance.ship(event));
 * ```
 */
@Injectable()
export class PayableEventsExplorer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PayableModule');
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(PAYABLE) private readonly payable: Payable,
  ) {}

  onModuleInit(): void {
    const seen = new WeakSet<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (wrapper.isDependencyTreeStatic()) {
        if (typeof instance !== 'object' || instance === null || seen.has(instance)) continue;
        seen.add(instance);
        this.subscribe(instance as Record<string, unknown>);
      } else if (typeof wrapper.metatype === 'function' && this.hasHandlers(wrapper.metatype.prototype)) {
        this.logger.warn(
          `${wrapper.name} is not a singleton provider: its @OnPayableEvent handlers are not registered. ` +
            'Move them to a singleton provider.',
        );
      }
    }
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  private subscribe(instance: Record<string, unknown>): void {
    const proto = Object.getPrototypeOf(instance) as object | null;
    if (proto === null) return;
    for (const name of this.scanner.getAllMethodNames(proto)) {
      const method = instance[name];
      if (typeof method !== 'function') continue;
      for (const type of payableEventTypes((proto as Record<string, unknown>)[name])) {
        const handler: WebhookHandler = (event: WebhookHandlerEvent) =>
          method.call(instance, event) as void | Promise<void>;
        this.unsubscribes.push(this.payable.on(type, handler));
      }
    }
  }

  private hasHandlers(proto: unknown): boolean {
    if (typeof proto !== 'object' || proto === null) return false;
    return this.scanner
      .getAllMethodNames(proto)
      .some((name) => payableEventTypes((proto as Record<string, unknown>)[name]).length > 0);
  }
}
