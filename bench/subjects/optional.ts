/**
 * Loads a package that only the benchmark's baselines use (devDependencies: `@grpc/grpc-js`,
 * `@grpc/proto-loader`, `capnweb`, `ws`). The specifier is a variable, so type checking does not
 * need the package installed: each baseline declares the slice of the API it uses, as the
 * socket adapters do. A missing package makes that baseline "unavailable" with this reason.
 *
 * @module
 */

/**
 * Imports an npm package by name.
 *
 * @param name Package (or package subpath) name.
 * @returns The module, typed as the caller declares it.
 * @throws {Error} Saying how to install it when it cannot be loaded.
 */
export async function importOptional<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot load ${name} (a devDependency of the bench: run npm ci): ${why.split("\n")[0]}`);
  }
}
