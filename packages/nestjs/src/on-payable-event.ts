import type { PayableEventType } from '@payable/core';

/**
 * The metadata key under which `@OnPayableEvent` keeps the event types of a method (on the method
 * function), for tools that list handlers.
 *
 * @example
 * ```ts
 * Reflect.getMetadata(PAYABLE_EVENT_METADATA, Fulfilment.prototype.ship); // ['payment.succeeded']
 * ```
 */
export const PAYABLE_EVENT_METADATA = 'payable:on-event';

/**
 * An event type a handler subscribes to: a normalized type (`'payment.succeeded'`, ...) or `'*'`
 * for every event.
 *
 * @example
 * ```ts
 * const type: PayableEventSubscription = 'refund.succeeded';
 * ```
 */
export type PayableEventSubscription = PayableEventType | '*';

/**
 * Method decorator: call this provider method for every processed webhook event of the given
 * type(s), with the `WebhookHandlerEvent` (`payable.on(type, handler)` under the hood). The module
 * finds decorated methods of every provider when the app starts (`onModuleInit`), and unsubscribes
 * them when it closes. Stack it or pass several types; `'*'` subscribes to every event. A handler
 * that throws makes the event's processing fail and retry, like any `payable.on` handler.
 *
 * Only singleton providers are scanned (a request-scoped provider has no instance outside a
 * request; the module logs a warning for one).
 *
 * @example
 * ```ts
 * @Injectable()
 * class Fulfilment {
 *   @OnPayableEvent('payment.succeeded')
 *   async ship(event: WebhookHandlerEvent) {
 *     await this.orders.markPaid(event.record);
 *   }
 *
 *   @OnPayableEvent(['subscription.created', 'subscription.updated'])
 *   sync(event: WebhookHandlerEvent) {}
 * }
 * ```
 */
export function OnPayableEvent(type: PayableEventSubscription | readonly PayableEventSubscription[]): MethodDecorator {
  const types: PayableEventSubscription[] = Array.isArray(type) ? [...type] : [type as PayableEventSubscription];
  return (_target, _key, descriptor) => {
    const method = descriptor.value;
    if (typeof method !== 'function') return descriptor;
    const previous = payableEventTypes(method);
    Reflect.defineMetadata(PAYABLE_EVENT_METADATA, [...previous, ...types], method);
    return descriptor;
  };
}

/** The event types `@OnPayableEvent` put on a method (empty when none). */
export function payableEventTypes(method: unknown): PayableEventSubscription[] {
  if (typeof method !== 'function') return [];
  const types: unknown = Reflect.getMetadata(PAYABLE_EVENT_METADATA, method);
  return Array.isArray(types) ? (types as PayableEventSubscription[]) : [];
}
