/**
 * Peer proxies: `node.peer("Host").add(1, 2)` turns property access into remote calls.
 *
 * A proxy is handed to code that knows nothing about RPC: `await`, `JSON.stringify`,
 * `structuredClone`, `console.log`, test frameworks' equality checks and React all probe
 * objects for well-known property names. Python PeerLink 1.2 forwarded such probes to the
 * peer (its `__getattr__` answered every dunder), which turned `copy.deepcopy(proxy)` into a
 * network call. Here those names are answered locally and never sent.
 *
 * @module
 */
import type { AnyFunction, CannotSend, Sendable, Wire, WireProblem } from "./wire/types.ts";

export type { AnyFunction };

/**
 * Property names that JavaScript machinery reads on arbitrary objects. A proxy answers them
 * locally (mostly with `undefined`) and never turns them into remote calls:
 * `then` (thenable detection in `await` and `Promise.resolve`), `toJSON` (`JSON.stringify`),
 * `inspect` (old Node custom inspect), `nodeType`/`tagName` (DOM checks in pretty printers),
 * `$$typeof` (React elements), `asymmetricMatch` (Jest/Bun/Vitest matchers), `_isMockFunction`,
 * `@@__IMMUTABLE_ITERABLE__@@` (Immutable.js) and every member of `Object.prototype`
 * (`constructor`, `valueOf`, `toString`, `hasOwnProperty`, `__proto__`, ...). Every Symbol
 * key is local too. Call such a remote function with `node.call(peer, name, args)`.
 */
export const LOCAL_PROPERTY_NAMES: ReadonlySet<string> = new Set([
  "then",
  "catch",
  "finally",
  "toJSON",
  "inspect",
  "nodeType",
  "tagName",
  "$$typeof",
  "asymmetricMatch",
  "_isMockFunction",
  "@@__IMMUTABLE_ITERABLE__@@",
  "@@__IMMUTABLE_RECORD__@@",
  "prototype",
  ...Object.getOwnPropertyNames(Object.prototype),
]);

/**
 * True when a property name is answered by the proxy itself and never sent to the peer.
 *
 * @param name A property key.
 * @returns Whether `name` is a Symbol or one of {@linkcode LOCAL_PROPERTY_NAMES}.
 */
export function isLocalPropertyName(name: string | symbol): boolean {
  return typeof name === "symbol" || LOCAL_PROPERTY_NAMES.has(name);
}

/** Methods every peer proxy offers locally, whatever the remote API. */
export interface PeerHandle {
  /**
   * Pings the peer with the built-in `__ping__` function (Python compatible).
   *
   * @returns `true` when the peer answered `{ ok: true }` in time, `false` otherwise. Never rejects.
   */
  isAlive(): Promise<boolean>;
}

/** A remote function of an untyped proxy: any arguments, result type chosen by the caller. */
export type UntypedRemoteFunction = <R = unknown>(...args: unknown[]) => Promise<R>;

/**
 * The remote form of a function type, through what the wire carries (`Wire`): the parameters
 * as the handler declares them (a streamed one also takes an `AsyncIterable`), the result a
 * Promise of what arrives (`Date` becomes `string`, `undefined` becomes `null`, a class
 * instance plain data, a stream a `ReadableStream`). A parameter or result that cannot travel
 * (`Map`, `Set`, `BigInt`, a function) makes the call a compile error that names it.
 *
 * @example
 * ```ts
 * import type { RemoteFunction } from "@peerlink/peerlink";
 * type Stamp = RemoteFunction<(at: Date, note?: string) => { at: Date; note: string | undefined }>;
 * // (at: Date, note?: string) => Promise<{ at: string; note?: string }>
 * ```
 */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R
  ? [WireProblem<Awaited<R>>] extends [never]
    ? (...args: { [I in keyof A]: Sendable<A[I]> }) => Promise<Wire<Awaited<R>>>
  : CannotSend<WireProblem<Awaited<R>>>
  : never;

/** The function members of `T`, each turned into its remote form. */
export type TypedRemoteApi<T> = {
  readonly [K in keyof T as K extends string ? T[K] extends AnyFunction ? K : never : never]: RemoteFunction<T[K]>;
};

/**
 * What `node.peer<T>(name)` returns: every function of `T` becomes its
 * {@linkcode RemoteFunction} (`(...args) => Promise<what arrives>`), plus
 * {@linkcode PeerHandle}. Without `T` (or with a `T` that has a string index signature) any
 * name is allowed.
 *
 * @example
 * ```ts
 * import type { RemoteApi } from "@peerlink/peerlink";
 * interface HostApi {
 *   add(a: number, b: number): number;
 *   getMap(): Promise<Uint8Array>;
 *   now(): Date;
 *   ticks(): AsyncIterable<number>;
 * }
 * type Host = RemoteApi<HostApi>;
 * // { add(a: number, b: number): Promise<number>; getMap(): Promise<Uint8Array>; now(): Promise<string>;
 * //   ticks(): Promise<ReadableStream<number>>; isAlive(): Promise<boolean> }
 * ```
 */
export type RemoteApi<T = Record<string, AnyFunction>> = string extends keyof T
  ? PeerHandle & { readonly [name: string]: UntypedRemoteFunction }
  : PeerHandle & TypedRemoteApi<T>;

/** Invokes remote function `fn` with positional `args`; provided by the node. */
export type InvokeRemote = (fn: string, args: unknown[]) => Promise<unknown>;

/** Shown by `console.log`, `util.inspect` and `Deno.inspect` instead of the proxy's internals. */
class PeerProxy {
  /** Which peer the proxy calls. */
  readonly peer: string;
  constructor(peer: string) {
    this.peer = peer;
  }
  get [Symbol.toStringTag](): string {
    return "PeerProxy";
  }
}

/**
 * Makes a proxy whose property reads are remote functions.
 *
 * Reading a name from {@linkcode LOCAL_PROPERTY_NAMES} or any Symbol never calls `invoke`:
 * `then`, `toJSON` and most others read as `undefined` (so `await proxy` yields the proxy and
 * `JSON.stringify(proxy)` is `"{}"`), `toString` gives `"[PeerProxy <name>]"`,
 * `Symbol.toStringTag` gives `"PeerProxy"`. Other names return a function that calls
 * `invoke(name, args)`; that function is created once per name.
 *
 * @param invoke Performs the call (the node binds peer name, transport and timeout).
 * @param peerName Shown by `toString` and `console.log`.
 * @returns The proxy, typed as {@linkcode RemoteApi}.
 *
 * @example
 * ```ts
 * import { createPeerProxy } from "./proxy.ts";
 * const calc = createPeerProxy<{ add(a: number, b: number): number }>(
 *   async (fn, args) => fn === "add" ? (args[0] as number) + (args[1] as number) : undefined,
 *   "Calc",
 * );
 * console.log(await calc.add(1, 2)); // 3
 * ```
 */
export function createPeerProxy<T = Record<string, AnyFunction>>(
  invoke: InvokeRemote,
  peerName = "peer",
): RemoteApi<T> {
  const target = new PeerProxy(peerName);
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const isAlive = async (): Promise<boolean> => {
    try {
      const reply = await invoke("__ping__", []);
      return typeof reply === "object" && reply !== null && (reply as { ok?: unknown }).ok === true;
    } catch {
      return false;
    }
  };
  const toString = () => `[PeerProxy ${peerName}]`;
  const handler: ProxyHandler<PeerProxy> = {
    get(_target, key) {
      if (typeof key === "symbol") return key === Symbol.toStringTag ? "PeerProxy" : undefined;
      if (key === "toString" || key === "toLocaleString") return toString;
      if (LOCAL_PROPERTY_NAMES.has(key)) return undefined;
      if (key === "isAlive") return isAlive;
      let method = methods.get(key);
      if (!method) {
        method = (...args: unknown[]) => invoke(key, withoutTrailingUndefined(args));
        methods.set(key, method);
      }
      return method;
    },
    has(_target, key) {
      return !isLocalPropertyName(key);
    },
    // The proxy is not a bag of data: nothing to enumerate, copy or clone.
    ownKeys() {
      return [];
    },
    getOwnPropertyDescriptor() {
      return undefined;
    },
    set() {
      return false;
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    },
  };
  return new Proxy(target, handler) as unknown as RemoteApi<T>;
}

/**
 * `f(1, undefined)` as `f(1)`: JSON turns an `undefined` array item into `null`, so an optional
 * parameter given as `undefined` would arrive as `null`; left out, it arrives `undefined`.
 */
function withoutTrailingUndefined(args: unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return end === args.length ? args : args.slice(0, end);
}
