import { z } from 'zod';
import { ValidationError } from '../errors/classes.js';

const CURRENCIES = new Set<string>([...Intl.supportedValuesOf('currency'), 'BTC']);

/** Whether `code` is an ISO 4217 currency Payable knows (plus `BTC`, counted in satoshis). */
export function isKnownCurrency(code: string): boolean {
  return CURRENCIES.has(code.toUpperCase());
}

const amount = z
  .number({ error: 'must be a number' })
  .refine(Number.isSafeInteger, 'must be an integer in the minor unit (no fractions)')
  .refine((n) => n > 0, 'must be greater than zero');
const currency = z
  .string({ error: 'must be a string' })
  .refine(isKnownCurrency, 'is not a known ISO 4217 currency')
  .transform((c) => c.toUpperCase());
const metadata = z
  .record(z.string(), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 50, 'has more than 50 keys');
const id = z.string().min(1, 'must not be empty').max(255);
const url = z.url({ error: 'must be an absolute URL' });

/** Schema of `ChargeInput`. */
export const chargeSchema = z.strictObject({
  amount,
  currency,
  customerId: id.optional(),
  description: z.string().max(1000).optional(),
  metadata: metadata.optional(),
  expiresIn: z.number().int('must be an integer').min(1).max(31_536_000).optional(),
  capture: z.boolean().optional(),
  descriptionHash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (a SHA-256)')
    .transform((h) => h.toLowerCase())
    .optional(),
});

/** Schema of `RefundInput`. */
export const refundSchema = z.strictObject({
  paymentId: id,
  amount: amount.optional(),
  reason: z.string().max(500).optional(),
  metadata: metadata.optional(),
});

/** Schema of `CustomerInput`. */
export const customerSchema = z.strictObject({
  email: z.email({ error: 'must be an email address' }).optional(),
  name: z.string().max(500).optional(),
  metadata: metadata.optional(),
});

/** Schema of `CheckoutInput`. */
export const checkoutSchema = z.union([
  z.strictObject({
    amount,
    currency,
    successUrl: url,
    cancelUrl: url,
    customerId: id.optional(),
    metadata: metadata.optional(),
  }),
  z.strictObject({
    priceId: id,
    successUrl: url,
    cancelUrl: url,
    customerId: id.optional(),
    metadata: metadata.optional(),
  }),
]);

/** Schema of `SubscribeInput`. */
export const subscribeSchema = z.strictObject({
  customerId: id,
  priceId: id,
  trialDays: z.number().int('must be an integer').min(0).max(730).optional(),
  metadata: metadata.optional(),
});

/** Schema of the cancel operation's input. */
export const cancelSchema = z.strictObject({ id, atPeriodEnd: z.boolean().optional() });

/** Schema of an idempotency key. */
export const idempotencyKeySchema = z.string().min(1).max(255);

/**
 * Parse `input` with `schema` or throw `VALIDATION_ERROR` naming the first bad field
 * (`context: { field, reason, issues }`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const path = i.path.map(String);
    if (i.code === 'unrecognized_keys') path.push(String(i.keys[0]));
    return {
      field: path.join('.') || what,
      reason: i.code === 'unrecognized_keys' ? 'is not a known field' : i.message,
    };
  });
  // A union reports its branches' issues; prefer the most specific one.
  const first = issues.find((i) => i.field !== what) ?? issues[0] ?? { field: what, reason: 'is invalid' };
  throw new ValidationError(`Invalid ${what}: ${first.field} ${first.reason}`, {
    context: { field: first.field, reason: first.reason, issues },
  });
}
