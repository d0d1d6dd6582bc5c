/**
 * What the wire does to types, for the typed proxy (`node.peer<Api>(name)`): a value travels as
 * JSON (with `Uint8Array` as binary), so what a handler returns is not always what its caller
 * receives. {@linkcode Wire} maps a type to what arrives; {@linkcode CannotSend} marks what
 * cannot travel at all, so such a call does not compile. Types only: nothing here runs.
 *
 * | sent                                         | arrives as                                    |
 * | -------------------------------------------- | --------------------------------------------- |
 * | `string`, `number`, `boolean`, `null`        | the same                                      |
 * | `Uint8Array`                                 | `Uint8Array` (raw binary over TCP)            |
 * | `undefined`, `void` (a result, an array item)| `null`; an `undefined` object member is left out |
 * | `Date`, anything with `toJSON()`             | what `toJSON()` returns (`Date`: an ISO string) |
 * | a class instance                             | plain data: its own fields, no methods        |
 * | arrays, plain objects                        | the same, item by item, member by member      |
 * | `Map`, `Set`, `BigInt`, functions, symbols, typed arrays but `Uint8Array` | refused: a compile error through the proxy, a `TypeError` at run time |
 * | `AsyncIterable<T>`, `ReadableStream<T>` (anywhere) | `ReadableStream<Wire<T>>` (streams)     |
 *
 * Every peer gets the same JSON, Python PeerLink 1.2 included: a `Date` is an ISO string
 * everywhere, so the types say the same whoever answers.
 *
 * @module
 */

/** Any function type; the members of an API type that become remote functions. */
// deno-lint-ignore no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;

/**
 * Marks a parameter or a remote function whose value cannot travel: nothing is assignable to
 * it, so the call does not compile, and the compiler's message shows the reason, e.g.
 * `Argument of type 'Map<string, number>' is not assignable to parameter of type
 * 'CannotSend<"a Map: send Object.fromEntries(map)">'`.
 *
 * @example
 * ```ts
 * import type { CannotSend } from "@peerlink/peerlink";
 * type Why = CannotSend<"a BigInt: send String(value)">["PeerLink cannot send this"]; // the reason
 * ```
 */
export interface CannotSend<Why> {
  /** Why the value cannot travel, and what to send instead. */
  readonly "PeerLink cannot send this": Why;
}

/**
 * Why a type cannot travel (a string literal), or `never` when it can. Looks into arrays,
 * object members (not methods: a class instance travels as its own fields) and `toJSON()`
 * results, at most 8 levels deep (so recursive types end). `any` and `unknown` pass.
 */
export type WireProblem<T, Depth extends unknown[] = []> = Depth["length"] extends 8 ? never
  : 0 extends 1 & T ? never
  : unknown extends T ? never
  : T extends bigint ? "a BigInt: send String(value) or Number(value)"
  : T extends symbol ? "a Symbol"
  : T extends AnyFunction ? "a function: send data, not code"
  // deno-lint-ignore no-explicit-any
  : T extends ReadonlyMap<any, any> | WeakMap<any, any> ? "a Map: send Object.fromEntries(map)"
  // deno-lint-ignore no-explicit-any
  : T extends ReadonlySet<any> | WeakSet<any> ? "a Set: send [...set]"
  : T extends Uint8Array ? never
  : T extends ReadableStream<infer Item> | AsyncIterable<infer Item> ? WireProblem<Item, [...Depth, 0]>
  : T extends ArrayBufferView | ArrayBuffer ? "a typed array other than Uint8Array: send new Uint8Array(buffer)"
  // deno-lint-ignore no-explicit-any
  : T extends { toJSON(...args: any[]): infer J } ? WireProblem<J, [...Depth, 0]>
  : T extends readonly (infer Item)[] ? WireProblem<Item, [...Depth, 0]>
  : T extends object ? {
      [K in keyof T]-?: K extends string
        ? NonNullable<T[K]> extends AnyFunction ? never : WireProblem<T[K], [...Depth, 0]>
        : never;
    }[keyof T]
  : never;

/**
 * An object as it arrives: its data members (methods dropped), a member whose type includes
 * `undefined` optional (JSON leaves an `undefined` member out), each member's type {@linkcode Wire}-mapped.
 */
export type WireObject<T> =
  & {
    [
      K in keyof T as K extends string ? NonNullable<T[K]> extends AnyFunction ? never
        : undefined extends T[K] ? never
        : K
        : never
    ]: Wire<T[K]>;
  }
  & {
    [
      K in keyof T as K extends string ? NonNullable<T[K]> extends AnyFunction ? never
        : undefined extends T[K] ? [NonNullable<T[K]>] extends [never] ? never : K
        : never
        : never
    ]?: Wire<Exclude<T[K], undefined>>;
  } extends infer O ? { [K in keyof O]: O[K] } // one object type in editors, not an intersection
  : never;

/**
 * The type a value of type `T` has after a trip over the wire (see the module table):
 * `Wire<Date>` is `string`, `Wire<undefined>` is `null`, `Wire<{ at: Date; note?: string }>`
 * is `{ at: string; note?: string }`, a class instance is its own data fields.
 *
 * @example
 * ```ts
 * import type { Wire } from "@peerlink/peerlink";
 * class Order {
 *   id = 1;
 *   placed = new Date();
 *   total(): number { return this.id; }
 * }
 * const arrived: Wire<Order> = { id: 1, placed: "2025-01-01T00:00:00.000Z" }; // no total(): plain data
 * ```
 */
export type Wire<T> = 0 extends 1 & T ? T
  : unknown extends T ? unknown
  : T extends string | number | boolean | null ? T
  : T extends undefined | void ? null
  : T extends Uint8Array ? Uint8Array
  : T extends ReadableStream<infer Item> | AsyncIterable<infer Item> ? ReadableStream<Wire<Item>>
  // deno-lint-ignore no-explicit-any
  : T extends { toJSON(...args: any[]): infer J } ? Wire<J>
  : T extends readonly unknown[] ? { -readonly [I in keyof T]: Wire<T[I]> }
  : T extends bigint | symbol | AnyFunction ? never
  : T extends object ? WireObject<T>
  : never;

/**
 * A stream's item type, when `T` is one: what a handler returns (`AsyncIterable<T>`, an
 * `async function*`, a `ReadableStream<T>`) or takes as a streamed parameter.
 */
export type StreamItem<T> = T extends ReadableStream<infer Item> ? Item
  : T extends AsyncIterable<infer Item> ? Item
  : never;

/**
 * What a caller may pass for a handler's parameter `P`: `P` itself, or for a streamed
 * parameter a `ReadableStream<T> | AsyncIterable<T>` of its items; {@linkcode CannotSend}
 * (nothing fits) when `P` cannot travel.
 */
export type Sendable<P> = [WireProblem<P>] extends [never]
  ? [StreamItem<P>] extends [never] ? P : ReadableStream<StreamItem<P>> | AsyncIterable<StreamItem<P>>
  : CannotSend<WireProblem<P>>;
