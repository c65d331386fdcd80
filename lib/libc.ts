/**
 * The C library's functions, for the little Deno cannot do itself
 * (`malloc_trim`, `fcntl(F_SETPIPE_SZ)`): Linux with glibc only, and only
 * when the process may already use FFI. Anywhere else the caller gets
 * nothing and goes on as it would without.
 *
 * @module
 */

/**
 * Opens glibc's `libc.so.6` with the given symbols, each non-blocking: for
 * a synchronous symbol Deno compiles a trampoline at `dlopen`, whose code
 * took the long-lived agent 1.4 MB more of its RSS (issue 21).
 *
 * @param symbols The functions to bind, without `nonblocking` (it is set).
 * @returns The bound functions, or null off Linux, without FFI permission,
 * or without glibc.
 *
 * @example
 * ```ts ignore
 * import { openLibc } from "./libc.ts";
 * const libc = openLibc({ getpid: { parameters: [], result: "i32" } });
 * console.log(await libc?.getpid());
 * ```
 */
export function openLibc<const S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.StaticForeignLibraryInterface<NonBlocking<S>> | null {
  if (Deno.build.os !== "linux") return null;
  try {
    // Queried, not asked for: a prompt would stop a script in its tracks.
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return null;
    }
    const nonBlocking = Object.fromEntries(
      Object.entries(symbols).map(([name, fn]) => [
        name,
        { ...fn, nonblocking: true },
      ]),
    ) as NonBlocking<S>;
    return Deno.dlopen("libc.so.6", nonBlocking).symbols;
  } catch {
    // Another C library (musl), or no FFI in this runtime.
    return null;
  }
}

/** `symbols` with every function marked non-blocking. */
type NonBlocking<S extends Deno.ForeignLibraryInterface> = {
  [K in keyof S]: S[K] & { nonblocking: true };
};
