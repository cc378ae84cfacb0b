import { isPayableError, type PayableError } from '@payable/core';

/** Await `promise` and return the PayableError it rejects with; fail when it resolves or throws anything else. */
export async function caught(promise: Promise<unknown>): Promise<PayableError> {
  try {
    await promise;
  } catch (error) {
    if (isPayableError(error)) return error;
    throw error;
  }
  throw new Error('expected a PayableError');
}
