import { isPayableError, type PayableError, type ProviderChargeInput } from '@payable/core';

/** A complete provider charge input: `base` sets the amount and currency a provider's tests use. */
export function chargeInputWith(
  base: Pick<ProviderChargeInput, 'amount' | 'currency'>,
  overrides: Partial<ProviderChargeInput> = {},
): ProviderChargeInput {
  return {
    ...base,
    customerProviderId: null,
    description: null,
    metadata: {},
    expiresIn: null,
    capture: true,
    ...overrides,
  };
}

/** Run `run` and return the PayableError it throws; fail when it succeeds or throws anything else. */
export async function caught(run: () => Promise<unknown>): Promise<PayableError> {
  try {
    await run();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw new Error(`expected a PayableError, got ${String(error)}`);
  }
  throw new Error('expected the call to fail');
}
