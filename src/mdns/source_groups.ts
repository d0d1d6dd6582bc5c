/**
 * Items grouped by the address that sent them, for fair eviction: each group keeps its items
 * oldest first, and the largest group is found in constant time (groups are indexed by their
 * size), so choosing a victim costs the same with 10 records or 10,000 and with one source or
 * thousands.
 *
 * @module
 */

/** Something that came from a source address. */
export interface FromSource {
  /** The sender's address. */
  readonly source: string;
}

/**
 * Groups of items by source, each in the order they were added or last touched.
 *
 * @example
 * ```ts
 * import { SourceGroups } from "./source_groups.ts";
 * const groups = new SourceGroups<{ source: string; id: number }>();
 * const first = { source: "10.0.0.9", id: 1 };
 * groups.add(first);
 * groups.add({ source: "10.0.0.9", id: 2 });
 * groups.add({ source: "10.0.0.2", id: 3 });
 * console.log(groups.oldestOfLargest() === first); // true: 10.0.0.9 holds the most
 * ```
 */
export class SourceGroups<T extends FromSource> {
  readonly #groups = new Map<string, Set<T>>();
  /** Sources by the size of their group (only sizes some source has). */
  readonly #bySize = new Map<number, Set<string>>();
  #largest = 0;
  #size = 0;

  /** Items in all groups. */
  get size(): number {
    return this.#size;
  }

  /** Number of sources with at least one item. */
  get sources(): number {
    return this.#groups.size;
  }

  /** Items of the largest group (0 when empty). */
  get largest(): number {
    return this.#largest;
  }

  /**
   * Items from one source.
   *
   * @param source The address.
   * @returns How many it has here.
   */
  sizeOf(source: string): number {
    return this.#groups.get(source)?.size ?? 0;
  }

  /**
   * Adds an item as the newest of its source.
   *
   * @param item The item (not in the groups yet).
   */
  add(item: T): void {
    let group = this.#groups.get(item.source);
    if (!group) this.#groups.set(item.source, group = new Set());
    const before = group.size;
    group.add(item);
    if (group.size === before) return;
    this.#size++;
    this.#resize(item.source, before, group.size);
  }

  /**
   * Removes an item.
   *
   * @param item The item.
   * @returns Whether it was there.
   */
  delete(item: T): boolean {
    const group = this.#groups.get(item.source);
    if (!group?.delete(item)) return false;
    this.#size--;
    if (group.size === 0) this.#groups.delete(item.source);
    this.#resize(item.source, group.size + 1, group.size);
    return true;
  }

  /**
   * Makes an item the newest of its source (it was received again).
   *
   * @param item The item.
   */
  touch(item: T): void {
    const group = this.#groups.get(item.source);
    if (group?.delete(item)) group.add(item);
  }

  /**
   * The oldest item of one source.
   *
   * @param source The address.
   * @returns Its oldest item, or undefined when it has none.
   */
  oldestOf(source: string): T | undefined {
    return first(this.#groups.get(source));
  }

  /**
   * The oldest item of the source holding the most (of those holding the most, the one that
   * reached that size first).
   *
   * @returns The item, or undefined when there is none.
   */
  oldestOfLargest(): T | undefined {
    const source = first(this.#bySize.get(this.#largest));
    return source === undefined ? undefined : this.oldestOf(source);
  }

  /** Forgets everything. */
  clear(): void {
    this.#groups.clear();
    this.#bySize.clear();
    this.#largest = 0;
    this.#size = 0;
  }

  /** Moves a source from the index entry of its old size to that of its new one. */
  #resize(source: string, from: number, to: number): void {
    if (from > 0) {
      const sources = this.#bySize.get(from)!;
      sources.delete(source);
      if (sources.size === 0) this.#bySize.delete(from);
    }
    if (to > 0) {
      let sources = this.#bySize.get(to);
      if (!sources) this.#bySize.set(to, sources = new Set());
      sources.add(source);
    }
    // Sizes change by one: a new largest is `to`, and an emptied largest leaves `from - 1`.
    if (to > this.#largest) this.#largest = to;
    else if (from === this.#largest && !this.#bySize.has(from)) this.#largest = to;
  }
}

function first<V>(values: Iterable<V> | undefined): V | undefined {
  if (values) { for (const v of values) return v; }
  return undefined;
}
