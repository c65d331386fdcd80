/**
 * The helper cache against another Unix user who swaps it under the loader:
 * the loader runs only the helper it checked, by descriptor, or refuses.
 * Needs root, to make that user and act as them.
 */
import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { HELPER_HASH, HELPER_PACKED } from "../lib/remote/_helper_source.ts";
import { decodeBase64 } from "../lib/bytes.ts";

const SWAPPER = "sessh-squatter";
const RUNS = 60;
const isRoot = Deno.uid() === 0;

/**
 * The other user's loop: a directory of theirs, holding a helper of theirs
 * directory under the expected name, swapped in for `sessh` over and over.
 */
const SWAP = `
import os, sys, time
shared, name = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(shared, "theirs", name), 0o700)
with open(os.path.join(shared, "theirs", name, "__main__.py"), "w") as f:
    f.write("import sys\\nsys.stderr.write('FOREIGN CODE RAN\\\\n')\\nsys.exit(0)\\n")
def mv(source, target):
    try:
        os.rename(os.path.join(shared, source), os.path.join(shared, target))
        return 1
    except OSError:
        return 0
tries = swaps = 0
while os.path.exists(os.path.join(shared, "go")):
    tries += 1
    if mv("sessh", "parked"):
        swaps += mv("theirs", "sessh")
        time.sleep(0.002)  # theirs in place for a while, then ours: a loader that checks once sees one, uses the other
        mv("sessh", "theirs")
        mv("parked", "sessh")
    time.sleep(0.002)
print(tries, swaps)
`;

/** Makes the other user when missing. */
async function ensureSwapper(): Promise<void> {
  const found = await runCommand(["id", "-u", SWAPPER], { timeoutMs: 5000 });
  if (found.code === 0) return;
  const made = await runCommand([
    "useradd",
    "--system",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    SWAPPER,
  ], { timeoutMs: 10_000 });
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
}

/** One loader run on a pushed helper, as a first call makes it. */
async function load(cache: string, loader: string): Promise<string> {
  const packed = decodeBase64(HELPER_PACKED);
  const child = new Deno.Command("python3", {
    args: ["-S", "-c", loader, `${HELPER_HASH}+`],
    env: { XDG_CACHE_HOME: cache, PATH: Deno.env.get("PATH") ?? "" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${packed.length}\n`));
  await writer.write(packed);
  await writer.close().catch(() => {});
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (/FOREIGN CODE RAN/.test(stderr)) return "foreign";
  if (out.code === 2 && /^usage: sessh list/.test(stderr)) return "ours";
  if (out.code === 3 && /refusing cache dir/.test(stderr)) return "refused";
  return `exit ${out.code}: ${stderr}`;
}

Deno.test({
  name: "a cache another user swaps under the loader never runs their code",
  ignore: !isRoot,
  async fn(t) {
    await ensureSwapper();
    const loader = await Deno.readTextFile(
      new URL("../lib/remote/loader.py", import.meta.url),
    );
    // Without the sticky bit they may rename our sessh/: the loader refuses
    // the cache. With it (as /tmp) they cannot, and our helper runs.
    for (const [mode, expected] of [[0o777, "refused"], [0o1777, "ours"]]) {
      await t.step(`shared directory ${mode.toString(8)}`, async () => {
        const shared = await Deno.makeTempDir({ prefix: "sessh-shared-" });
        try {
          // Ours first: a cache that was fine before they started.
          assert.equal(await load(shared, loader), "ours");
          await Deno.chmod(shared, mode as number);
          await Deno.writeTextFile(`${shared}/go`, "");
          const swapper = new Deno.Command("runuser", {
            args: [
              "-u",
              SWAPPER,
              "--",
              "python3",
              "-c",
              SWAP,
              shared,
              `helper-${HELPER_HASH}`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const counts: Record<string, number> = {};
          let tried: string;
          try {
            for (let i = 0; i < RUNS; i++) {
              const outcome = await load(shared, loader);
              counts[outcome] = (counts[outcome] ?? 0) + 1;
            }
          } finally {
            await Deno.remove(`${shared}/go`);
            const out = await swapper.output();
            assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
            tried = new TextDecoder().decode(out.stdout).trim();
          }
          console.log(
            `${mode.toString(8)}: ${JSON.stringify(counts)}; the other ` +
              `user's tries and swaps: ${tried}`,
          );
          assert.equal(counts.foreign ?? 0, 0, "runs of the other user's code");
          assert.deepEqual(counts, { [expected as string]: RUNS });
          const [tries, swaps] = tried.split(" ").map(Number);
          assert.ok(tries > RUNS, "the other user kept trying");
          // Where they could, they did swap: the loader refused it all.
          if (mode === 0o777) assert.ok(swaps > 0, "they swapped");
        } finally {
          await Deno.remove(shared, { recursive: true });
        }
      });
    }
  },
});
