/**
 * The published form beside the bundle (issue 21): the package staged as
 * the release workflow stages it and served over loopback HTTP
 * (`tests/_served.ts`), each form run by URL from a directory with no
 * `deno.json` and a warmed `DENO_DIR` of its own, as a user runs `deno run
 * -A jsr:@sessh/cli/cli` once the first call has cached it.
 *
 * @module
 */
import type { TestSshd } from "../tests/_sshd.ts";
import { bundledArgv } from "../tests/_bundle.ts";
import { makeUserSide, servePackage, stagePackage } from "../tests/_served.ts";
import { runCommand } from "../lib/process.ts";
import type { Figure } from "./_report.ts";

/** A timed case, shaped as the bench's own. */
export interface PublishedCase {
  /** Stable key, used in JSON. */
  key: string;
  /** What is timed, for the table. */
  label: string;
  /** Does it once; rejects when it fails. */
  once(): Promise<void>;
}

/** The served forms' cases; disposing stops the server, removes the files. */
export interface PublishedCases extends AsyncDisposable {
  /** `run -- true` by each served form. */
  cases: PublishedCase[];
  /**
   * The goal, a difference within the same run: the published form's
   * median beyond the local bundle's.
   *
   * @param median A case's median by its key.
   * @param bundleKey The local bundle's case.
   */
  figure(median: (key: string) => number, bundleKey: string): Figure;
}

/** The forms served: the `./cli` export, `mod.ts` as main, the sources. */
const FORMS = [
  {
    key: "run-published",
    path: "dist/cli.js",
    label: "published form (served over loopback HTTP): jsr:@sessh/cli/cli",
  },
  {
    key: "run-published-mod",
    path: "mod.ts",
    label: "served mod.ts (jsr:@sessh/cli): the library, then the bundle",
  },
  {
    key: "run-served-source",
    path: "cli.ts",
    label: "served cli.ts: the sources, as published before the bundle",
  },
];

/**
 * Stages, serves and warms the published forms of `run SESSION DEST --
 * true`.
 *
 * @param host The fixture and the relay's ssh flags.
 * @param session The session the calls run in.
 * @param timeoutMs Each call's deadline.
 * @returns The cases.
 */
export async function publishedCases(
  host: { sshd: TestSshd; via: string[] },
  session: string,
  timeoutMs: number,
): Promise<PublishedCases> {
  const { sshd, via } = host;
  const staged = await stagePackage();
  if (staged.code !== 0) {
    await staged[Symbol.asyncDispose]();
    throw new Error(`deno publish --dry-run failed:\n${staged.text}`);
  }
  const server = await servePackage(staged.dir, staged.files);
  const side = await makeUserSide(`${sshd.dir}/published`);
  const cases = FORMS.map(({ key, path, label }): PublishedCase => {
    const argv = bundledArgv(`${server.url}${path}`, sshd.configFile, via, [
      "run",
      session,
      sshd.dest,
      "--",
      "true",
    ]);
    return {
      key,
      label: `${label}, run -- true`,
      async once() {
        const result = await runCommand(argv, {
          cwd: side.cwd,
          env: { ...sshd.env, DENO_DIR: side.denoDir },
          timeoutMs,
        });
        if (result.code !== 0) {
          throw new Error(
            `${argv.join(" ")} exited ${result.code}: ${
              new TextDecoder().decode(result.stderr)
            }`,
          );
        }
      },
    };
  });
  // The first call of each form fetches it and starts its agent: a user's
  // first call, not what the cases time.
  for (const c of cases) await c.once();
  return {
    cases,
    figure: (median, bundleKey) => ({
      key: "run-published-over-bundle",
      label: "published form's run beyond the local bundle's",
      value: median("run-published") - median(bundleKey),
      unit: "ms",
      goal: { max: 5, text: "≤ 5 ms" },
    }),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await staged[Symbol.asyncDispose]();
    },
  };
}
