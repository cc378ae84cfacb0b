import { isPayableError, type PayableError } from '@payable/core';

/** Run `fn` and return the PayableError it throws; fail when it returns or throws anything else. */
export function thrown(fn: () => unknown): PayableError {
  try {
    fn();
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}
