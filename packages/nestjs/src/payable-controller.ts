import { Controller, Inject, Req, Res, type Type } from '@nestjs/common';
import { CONTROLLER_HANDLERS, type PayableControllerInstance, routeHandler } from './controller-handlers.js';
import { PayableHttpBridge } from './http-bridge.js';
import type { PayableControllerDecorators } from './options.js';

/**
 * Create the controller class of one module registration: a catch-all under the module's prefix
 * that hands every request to the core HTTP handler (through the bridge), so every Payable route
 * exists with the core's exact behaviour. The route paths are set by
 * `PayableHttpBridge.registerRoutes` once the platform is known, just before Nest registers routes.
 *
 * @example
 * ```ts
 * const controller = createPayableController([SetMetadata('isPublic', true)]);
 * ```
 */
export function createPayableController(decorators: PayableControllerDecorators = []): Type<PayableControllerInstance> {
  @Controller()
  class PayableController {
    constructor(@Inject(PayableHttpBridge) readonly bridge: PayableHttpBridge) {}
  }
  for (const name of CONTROLLER_HANDLERS) {
    Object.defineProperty(PayableController.prototype, name, {
      value: routeHandler(),
      writable: true,
      configurable: true,
    });
    Req()(PayableController.prototype, name, 0);
    Res()(PayableController.prototype, name, 1);
  }
  let controller = PayableController as unknown as Type<PayableControllerInstance>;
  for (const decorate of decorators) {
    const replaced = decorate(controller);
    if (typeof replaced === 'function') controller = replaced as Type<PayableControllerInstance>;
  }
  return controller;
}
