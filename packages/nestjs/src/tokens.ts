import { Inject } from '@nestjs/common';

/**
 * Injection token of the Payable facade the module serves (the `payable` given to
 * `PayableModule.forRoot` or returned by the `forRootAsync` factory). A string, so the ESM and the
 * CommonJS builds of this package agree on it.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Billing {
 *   constructor(@Inject(PAYABLE) private readonly payable: Payable) {}
 * }
 * ```
 */
export const PAYABLE = 'PAYABLE';

/**
 * Injection token of the resolved module options (`PayableModuleOptions`), after the
 * `forRootAsync` factory ran.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Diagnostics {
 *   constructor(@Inject(PAYABLE_MODULE_OPTIONS) private readonly options: PayableModuleOptions) {}
 * }
 * ```
 */
export const PAYABLE_MODULE_OPTIONS = 'PAYABLE_MODULE_OPTIONS';

/** The controller class one module registration created (internal). */
export const PAYABLE_CONTROLLER = 'PAYABLE_CONTROLLER';

/**
 * Parameter decorator injecting the Payable facade: shorthand for `@Inject(PAYABLE)`. Always name
 * the token explicitly like this: bundlers built on esbuild (tsup, tsx, vitest) do not emit the
 * `design:paramtypes` metadata Nest would otherwise infer constructor dependencies from.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Checkout {
 *   constructor(@InjectPayable() private readonly payable: Payable) {}
 *   pay(amount: number) {
 *     return this.payable.charge({ amount, currency: 'EUR' });
 *   }
 * }
 * ```
 */
export function InjectPayable(): PropertyDecorator & ParameterDecorator {
  return Inject(PAYABLE);
}
