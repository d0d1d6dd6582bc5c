/**
 * Hostile RPC input for the fuzz tests: random bytes, valid JSON of the wrong shape, requests
 * with mistyped fields, huge numbers, deep nesting, prototype keys, bogus binary tags and
 * frames, and byte-level mutations of valid requests. Deterministic for a given PRNG.
 */

const text = new TextEncoder();

/** Deeply nested JSON, built once (building it per message would dominate the test's time). */
const NESTED = [50, 99, 100, 101, 150, 1000, 5000].flatMap((levels) => [
  "[".repeat(levels) + "]".repeat(levels),
  '{"a":'.repeat(levels) + "1" + "}".repeat(levels),
]);

/** A generator of fuzz input from a `[0, 1)` PRNG. */
export class RpcFuzzer {
  readonly #random: () => number;
  readonly #targets: readonly string[];

  /**
   * @param random Seeded PRNG.
   * @param targets Function names to aim valid-looking requests at.
   */
  constructor(random: () => number, targets: readonly string[]) {
    this.#random = random;
    this.#targets = targets;
  }

  int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  randomBytes(max: number): Uint8Array {
    const out = new Uint8Array(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }

  /** JSON text of an arbitrary (often odd) value. */
  value(depth = 0): string {
    const kind = this.int(depth > 4 ? 8 : 13);
    switch (kind) {
      case 0:
        return "null";
      case 1:
        return this.pick(["true", "false"]);
      case 2:
        return this.pick([
          "0",
          "-0",
          "1",
          "-1",
          "3.14",
          "1e308",
          "1e309",
          "-1e999",
          "5e-324",
          "123456789012345678901234567890",
          // Python's json.dumps writes these bare tokens for float("nan") and infinities.
          "NaN",
          "Infinity",
          "-Infinity",
        ]);
      case 3:
        return JSON.stringify(
          this.pick(["", "x", "é", "\u0000", "\ud800", "__proto__", "constructor", "a".repeat(300)]),
        );
      case 4:
        return String(this.int(1_000_000) - 500_000);
      case 5:
        return JSON.stringify("s" + this.int(1000));
      case 6:
        return `{"__bytes__":${this.pick(['"aGk="', '"a b"', '"!!"', "12", '""', '"aGk"', "null"])}}`;
      case 7:
        return `{"__seg__":${this.pick(["0", "1", "-1", '"0"', "1e9", "0.5"])}}`;
      case 8: {
        const n = this.int(5);
        return `[${Array.from({ length: n }, () => this.value(depth + 1)).join(",")}]`;
      }
      case 9: {
        const keys = ["a", "b", "__proto__", "constructor", "prototype", "__esc__", "__bytes__", "toString"];
        const n = this.int(4);
        return `{${
          Array.from({ length: n }, () => `${JSON.stringify(this.pick(keys))}:${this.value(depth + 1)}`).join(",")
        }}`;
      }
      case 10:
        return this.pick(NESTED);
      case 11:
        return `{"__esc__":${this.value(depth + 1)}}`;
      default:
        return `{"__proto__":{"polluted":true}}`;
    }
  }

  /** A request-shaped object with some fields wrong. */
  requestish(): string {
    // A Map, so that "__proto__" is an ordinary key here.
    const fields = new Map<string, string>([
      ["type", JSON.stringify("request")],
      ["id", JSON.stringify(crypto.randomUUID())],
      ["src", JSON.stringify("Fuzz")],
      ["dst", JSON.stringify("Host")],
      ["rpc", JSON.stringify(this.pick(this.#targets))],
      ["args", `[${Array.from({ length: this.int(4) }, () => this.value(1)).join(",")}]`],
      ["kwargs", "{}"],
    ]);
    const breakages = this.int(4);
    for (let i = 0; i < breakages; i++) {
      const field = this.pick([...fields.keys()]);
      switch (this.int(5)) {
        case 0:
          fields.delete(field);
          break;
        case 1:
          fields.set(field, this.value(1));
          break;
        case 2:
          fields.set(field, this.pick(['"response"', '"error"', '"REQUEST"', "1", "null", "[]", "{}"]));
          break;
        case 3:
          fields.set(
            field,
            JSON.stringify(this.pick(["__proto__", "constructor", "hasOwnProperty", "", "x".repeat(300)])),
          );
          break;
        default:
          fields.set("__proto__", this.value(1));
      }
    }
    if (this.chance(0.3)) fields.set("plx", this.pick(["1", "0", "-1", '"1"', "1e999", "null"]));
    if (this.chance(0.2)) fields.set("kwargs", this.value(1));
    const members = [...fields].map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    if (this.chance(0.1)) members.push(members[this.int(members.length)]); // duplicate key
    return `{${members.join(",")}}`;
  }

  /** Byte-level damage to `seed`. */
  mutate(seed: Uint8Array): Uint8Array {
    const bytes = Array.from(seed);
    const n = 1 + this.int(4);
    for (let k = 0; k < n; k++) {
      const at = this.int(Math.max(1, bytes.length));
      switch (this.int(6)) {
        case 0:
          bytes[at] ^= 1 << this.int(8);
          break;
        case 1:
          bytes[at] = this.int(256);
          break;
        case 2:
          bytes.length = at;
          break;
        case 3:
          bytes.splice(at, 0, ...Array.from({ length: 1 + this.int(8) }, () => this.int(256)));
          break;
        case 4:
          bytes.splice(at, 1 + this.int(8));
          break;
        default:
          bytes.splice(at, 0, ...bytes.slice(this.int(bytes.length), this.int(bytes.length) + 16));
      }
    }
    return Uint8Array.from(bytes);
  }

  /** One hostile datagram (or frame body). */
  message(valid: readonly Uint8Array[]): Uint8Array {
    switch (this.int(6)) {
      case 0:
        return this.randomBytes(this.pick([0, 1, 8, 64, 1400]));
      case 1:
        return text.encode(this.value());
      case 2:
      case 3:
        return text.encode(this.requestish());
      default:
        return this.mutate(this.pick(valid));
    }
  }

  /** A bogus binary frame body (0xFF layout with wrong lengths and tables). */
  binaryBody(): Uint8Array {
    const json = text.encode(this.chance(0.5) ? this.requestish() : this.value());
    const count = this.pick([0, 1, 2, 70_000, 0xffffffff]);
    const table = Math.min(count, 4);
    const out = new Uint8Array(10 + 4 * table + json.length + this.int(64));
    const view = new DataView(out.buffer);
    out[0] = 0xff;
    out[1] = this.pick([1, 1, 1, 0, 2]);
    view.setUint32(2, this.pick([json.length, json.length + 1, 0, 0xffffffff]));
    view.setUint32(6, count >>> 0);
    for (let i = 0; i < table; i++) view.setUint32(10 + 4 * i, this.pick([0, 1, 16, 0xffffffff]));
    out.set(json, 10 + 4 * table);
    return out;
  }

  /**
   * Several TCP frames back to back, as one connection sends them. Every header is honest
   * except, sometimes, the last one's (longer or shorter than its body, or far over any
   * limit), and sometimes the last frame is cut short: a lie breaks the framing, so it comes
   * last. (A header over the limit closes the connection, and the server then drops the
   * frames that arrived in the same chunk before it: the receivers' counts show that.)
   *
   * @returns The bytes to write, and how many frames they hold.
   */
  frames(valid: readonly Uint8Array[], count: number): { bytes: Uint8Array; frames: number } {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const body = this.chance(0.15) ? this.binaryBody() : this.message(valid);
      const header = new Uint8Array(4);
      const lie = i === count - 1 ? this.int(8) : -1;
      const length = lie === 0
        ? body.length + 1 + this.int(100)
        : lie === 1
        ? Math.max(0, body.length - 1 - this.int(10))
        : lie === 2
        ? 0xfffffff0
        : body.length;
      new DataView(header.buffer).setUint32(0, length >>> 0);
      parts.push(header, body);
    }
    let size = 0;
    for (const part of parts) size += part.length;
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    const last = parts[parts.length - 1]?.length ?? 0;
    const cut = this.chance(0.1) ? bytes.length - 1 - this.int(last + 4) : bytes.length;
    return { bytes: bytes.subarray(0, Math.max(0, cut)), frames: count };
  }
}

/**
 * Checks that a value a handler received is well formed: JSON data (numbers, including the
 * `NaN` and infinities Python's JSON sends as bare tokens; strings, booleans, null),
 * `Uint8Array`s, arrays and plain objects without a `__proto__` key, at most `maxDepth` deep.
 *
 * @returns A description of the first problem, or `undefined`.
 */
export function malformation(value: unknown, maxDepth = 100, depth = 0): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return undefined;
  if (value instanceof Uint8Array) return undefined;
  // `depth` counts the handler's argument list as level 0; kwargs arrive one level lower than
  // they were sent, so a container may sit at level maxDepth but not below it.
  if (depth > maxDepth) return `nested deeper than ${maxDepth}`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = malformation(item, maxDepth, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value !== "object") return `a ${typeof value}`;
  if (Object.getPrototypeOf(value) !== Object.prototype) return "an object with a foreign prototype";
  if (Object.prototype.hasOwnProperty.call(value, "__proto__")) return "an own __proto__ key";
  for (const key of Object.keys(value)) {
    const problem = malformation((value as Record<string, unknown>)[key], maxDepth, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}
