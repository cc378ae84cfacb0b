import { z } from 'zod';

const EVENT_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

const url = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(2048, 'is longer than 2048 characters');
const events = z
  .array(
    z
      .string({ error: 'must be a string' })
      .max(100)
      .regex(EVENT_PATTERN, 'must be an event type (payment.succeeded), a prefix pattern (payment.*) or *'),
    { error: 'must be a list of event types' },
  )
  .min(1, 'must name at least one event type (or *)')
  .max(100, 'has more than 100 entries');
const scheme = z.enum(['standard-webhooks', 'payable-v1'], { error: 'must be standard-webhooks or payable-v1' });
const description = z.string({ error: 'must be a string' }).max(500);
const tenantId = z.string().min(1).max(255).nullable();

/** Schema of `EndpointCreateInput`. */
export const endpointCreateSchema = z.strictObject({
  url,
  events,
  scheme: scheme.optional(),
  description: description.optional(),
  tenantId: tenantId.optional(),
});

/** Schema of `EndpointUpdateInput`. */
export const endpointUpdateSchema = z.strictObject({
  url: url.optional(),
  events: events.optional(),
  scheme: scheme.optional(),
  description: description.nullable().optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
});

/** Schema of the grace period of a secret rotation (ms, up to 30 days). */
export const graceMsSchema = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be an integer')
  .min(0)
  .max(30 * 86_400_000, 'must be at most 30 days');

/** Schema of a page size. */
export const limitSchema = z.number().int('must be an integer').min(1).max(500);

/** Whether an endpoint subscribed to `patterns` receives an event of `type`. */
export function matchesEvent(patterns: readonly string[], type: string): boolean {
  for (const p of patterns) {
    if (p === '*' || p === type) return true;
    if (p.endsWith('.*') && type.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}
