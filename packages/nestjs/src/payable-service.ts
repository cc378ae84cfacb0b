import type { Payable, ProviderMap } from '@payable/core';
import { Inject, Injectable } from '@nestjs/common';
import { PAYABLE } from './tokens.js';

/**
 * The Payable facade as an injectable Nest service: `service.payable` is the object
 * `createPayable` returned (the one the module serves over HTTP), with every operation, the
 * webhook inbox, `on`, the outbox and health. Available everywhere once `PayableModule` is
 * imported (the module is global). Inject it with `@Inject(PayableService)`.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Orders {
 *   constructor(@Inject(PayableService) private readonly billing: PayableService) {}
 *
 *   checkout(amount: number) {
 *     return this.billing.payable.charge({ amount, currency: 'EUR' }, { idempotencyKey: `order-${amount}` });
 *   }
 * }
 * ```
 */
@Injectable()
export class PayableService<P extends ProviderMap = ProviderMap> {
  constructor(@Inject(PAYABLE) readonly payable: Payable<P>) {}
}
