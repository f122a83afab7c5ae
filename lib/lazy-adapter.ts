import { onceUntilFailure } from './once.ts';

/** The methods of a port that return a promise: the ones a lazy adapter can answer before it is loaded. */
export type AsyncMethodName<Port> = {
  [Name in keyof Port]: Port[Name] extends (...args: never[]) => Promise<unknown> ? Name : never;
}[keyof Port];

export interface LazyAdapter<Port> {
  /** Stands in for the adapter: each async method loads it (once) and forwards the call. */
  readonly port: Port;
  /** Loads the adapter now, e.g. during the Lambda init; concurrent and later calls share the load. */
  readonly load: () => Promise<Port>;
}

/**
 * An adapter whose module (and AWS SDK client) is imported on first use, through a dynamic `import()`
 * in `build`. In a bundle each such module is a chunk of its own: a function never loads what its
 * configuration does not use (a local key needs no KMS client, jwks no DynamoDB), and the composition
 * stays synchronous. The composition loads what the configuration uses during the Lambda init
 * (`Gateway.checkAws`), so a request never waits for a module. A failed load is not kept.
 */
export function lazyAdapter<Port>(
  build: () => Promise<Port>,
  /** Every async method of the port, so that one added to the port later cannot be forgotten here. */
  methods: Readonly<Record<AsyncMethodName<Port>, true>>,
  fixed: Omit<Port, AsyncMethodName<Port>>,
): LazyAdapter<Port> {
  const load = onceUntilFailure(build);
  const port: Record<PropertyKey, unknown> = { ...fixed };
  for (const name of Object.keys(methods) as Array<AsyncMethodName<Port> & string>) {
    port[name] = async (...args: unknown[]) => {
      const adapter = (await load()) as Record<PropertyKey, (...args: unknown[]) => Promise<unknown>>;
      return adapter[name]!(...args);
    };
  }
  return { port: port as Port, load };
}
