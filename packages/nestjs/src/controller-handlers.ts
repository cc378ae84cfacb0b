/**
 * The handler methods of the Payable controller: `all` serves every method on Nest's Express
 * platform (one `@All` route), the others are the per-method routes of the Fastify platform (a
 * Fastify `all` route cannot carry the route options Payable sets). Which ones become routes is
 * decided when the app starts, once the platform is known.
 */
export const CONTROLLER_HANDLERS = ['all', 'get', 'post', 'put', 'patch', 'delete', 'options'] as const;

/** One of {@link CONTROLLER_HANDLERS}. */
export type ControllerHandlerName = (typeof CONTROLLER_HANDLERS)[number];

/** What a Payable controller instance looks like to the bridge. */
export type PayableControllerInstance = Record<ControllerHandlerName, (req: unknown, res: unknown) => Promise<void>>;

/** What a handler hands the request to. */
interface RequestHandlerHost {
  bridge: { handle(req: unknown, res: unknown): Promise<void> };
}

/**
 * A fresh handler function (Nest keeps route metadata on the function, so each registration of
 * routes starts from one without any).
 */
export function routeHandler(): (this: RequestHandlerHost, req: unknown, res: unknown) => Promise<void> {
  return function payableRoute(this: RequestHandlerHost, req: unknown, res: unknown): Promise<void> {
    return this.bridge.handle(req, res);
  };
}
