/**
 * Preloaded (`deno run --preload`) into a command line under test: says on
 * stderr when the process first touches Deno's global timers, whose first
 * use costs 10 ms or more (see `lib/timer.ts`), and where from. It says
 * `armed` first, so that a test knows the trap was set.
 *
 * @module
 */
const names = ["setTimeout", "clearTimeout", "setInterval", "clearInterval"];
for (const name of names) {
  const own = Object.getOwnPropertyDescriptor(globalThis, name);
  if (!own?.get) {
    throw new Error(`globalThis.${name} is no longer a lazy getter`);
  }
  const get = own.get;
  let told = false;
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      if (!told) {
        told = true;
        const where = new Error().stack?.split("\n").slice(2, 6).join("\n");
        console.error(`sessh-timer-trap ${name}\n${where}`);
      }
      return get.call(this);
    },
    set: own.set,
  });
}
console.error("sessh-timer-trap armed");
