/**
 * The README's examples, run. Each `sh` block runs as a `bash -e` script
 * against a real sshd (its example hosts `box` and `build-box` reach the
 * fixture, its user `me` is the login user, `sessh` is the checkout's cli.ts)
 * and must exit 0; a `text` block right after one is what it must print;
 * `ts` blocks are type-checked; `json` blocks are parsed, and an MCP client's
 * configuration among them must start sessh's server. A block that cannot run
 * here says why in its info string (`sh no-test: needs a terminal`); any other
 * block is run, so a new example is tested unless its author opts it out.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { parseFences } from "./_readme.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = `${ROOT}README.md`;
const BLOCK_TIMEOUT_MS = 120_000;

/** The README's example hosts, all pointing at the fixture. */
const HOSTS = ["box", "build-box"];
/** The README's example user, replaced by the fixture's login user. */
const EXAMPLE_USER = "me@";

const readme = await Deno.readTextFile(README);
const blocks = parseFences(readme);

/** A scratch world for the examples: a local home, a PATH with `sessh`. */
async function exampleWorld(sshd: TestSshd) {
  const dir = await Deno.makeTempDir({ prefix: "sessh-readme-" });
  const home = `${dir}/home`;
  const work = `${dir}/work`;
  const bin = `${dir}/bin`;
  await Promise.all([home, work, bin].map((d) => Deno.mkdir(d)));
  const config = `${dir}/ssh_config`;
  const fixture = await Deno.readTextFile(sshd.configFile);
  await Deno.writeTextFile(
    config,
    fixture.replace(
      `Host ${sshd.dest}`,
      `Host ${[sshd.dest, ...HOSTS].join(" ")}`,
    ),
  );
  // `-F` goes right after the verb (options may come anywhere before `--`);
  // `completions` and `mcp` take no ssh flags.
  await Deno.writeTextFile(
    `${bin}/sessh`,
    [
      "#!/bin/bash",
      `cli=${JSON.stringify(`${ROOT}cli.ts`)}`,
      `deno=${JSON.stringify(Deno.execPath())}`,
      `config=${JSON.stringify(config)}`,
      'i=0; [ "${1-}" = --json ] && i=1',
      'args=("$@")',
      'case "${args[$i]-}" in',
      '  ""|-*|completions|mcp|help) exec "$deno" run -A --quiet "$cli" "$@";;',
      "esac",
      'exec "$deno" run -A --quiet "$cli" "${args[@]:0:i+1}" -F "$config" \\',
      '  "${args[@]:i+1}"',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  // The opening example's project on the host.
  await Deno.mkdir(`${sshd.home}/project`, { recursive: true });
  await Deno.writeTextFile(
    `${sshd.home}/project/Makefile`,
    'test:\n\t@echo "testing in $(notdir $(CURDIR)) with MODE=$$MODE"\n',
  );
  return {
    work,
    env: {
      ...sshd.env,
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      HOME: home,
      // The deno cache stays where it is, not under the scratch HOME.
      DENO_DIR: Deno.env.get("DENO_DIR") ?? denoDir(),
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function denoDir(): string {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** Runs one example as a `bash -e` script; killed after the deadline. */
async function runExample(
  script: string,
  world: { work: string; env: Record<string, string> },
  user: string,
) {
  const body = script.replaceAll(EXAMPLE_USER, `${user}@`);
  const child = new Deno.Command("bash", {
    args: ["-e", "-c", body],
    cwd: world.work,
    env: world.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), BLOCK_TIMEOUT_MS);
  try {
    const out = await child.output();
    const text = new TextDecoder();
    return {
      code: out.code,
      stdout: text.decode(out.stdout),
      stderr: text.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("README sh examples run against a real sshd and print what they promise", async (t) => {
  await using sshd = await startSshd();
  await using world = await exampleWorld(sshd);
  const examples = blocks.filter((b) => b.lang === "sh" && !b.noTest);
  assert.ok(examples.length >= 10, `only ${examples.length} sh examples`);
  for (const block of examples) {
    await t.step(`README.md:${block.line}`, async () => {
      const result = await runExample(block.body, world, sshd.user);
      assert.equal(
        result.code,
        0,
        `README.md:${block.line} exited ${result.code}\n${block.body}\n` +
          `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
      if (block.output !== undefined) {
        // A formatter drops a code block's leading blank lines, so the README
        // cannot show those; it says so in words where they matter.
        assert.equal(
          result.stdout.replace(/^\n+/, ""),
          block.output,
          `README.md:${block.line} printed something else than its text block`,
        );
      }
    });
  }
});

Deno.test("README blocks are sh, outputs, ts or json unless opted out, and opt-outs say why", () => {
  const problems = blocks.flatMap((block) => {
    const at = `README.md:${block.line}`;
    if (!["sh", "text", "ts", "json"].includes(block.lang) && !block.noTest) {
      return [
        `${at}: nothing checks a \`\`\`${block.lang} block; say why ` +
        `(\`\`\`${block.lang} no-test: an excerpt)`,
      ];
    }
    if (block.lang === "text" && !block.isOutput) {
      return [
        `${at}: a text block that is no sh block's output (put it right ` +
        "after the block, or after one paragraph ending in `:`)",
      ];
    }
    if (block.noTest && block.reason === "") {
      return [`${at}: say why after no-test (\`\`\`sh no-test: needs a host)`];
    }
    return [];
  });
  assert.deepEqual(problems, []);
});

Deno.test("README has no line over 100 characters", () => {
  const long = readme.split("\n").flatMap((line, i) =>
    [...line].length > 100 ? [`README.md:${i + 1} (${[...line].length})`] : []
  );
  assert.deepEqual(long, [], "read in a terminal, these lines wrap");
});

/** GitHub's anchors of Markdown headings: `## Exit codes` → `exit-codes`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  const fenced = new Set(
    blocks.flatMap((
      b,
    ) => [b.line, ...b.body.split("\n").map((_, i) => b.line + i + 1)]),
  );
  markdown.split("\n").forEach((line, i) => {
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (!heading || fenced.has(i + 1)) return;
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "")
      .replaceAll(" ", "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  });
  return found;
}

Deno.test("README links to its own sections resolve", () => {
  const targets = anchors(readme);
  const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 0, "no link to a section");
  const broken = links.filter((link) => !targets.has(link));
  assert.deepEqual(broken, [], `links to no heading: ${broken.join(", ")}`);
});

Deno.test("README ts examples type-check against mod.ts", async () => {
  const snippets = blocks.filter((b) => b.lang === "ts" && !b.noTest);
  assert.ok(snippets.length > 0, "no ts block in the README");
  const dir = await Deno.makeTempDir({ prefix: "sessh-readme-check-" });
  try {
    const files = [];
    for (const block of snippets) {
      const file = `${dir}/line_${block.line}.ts`;
      const body = block.body.replaceAll(
        /"jsr:@sessh\/cli"/g,
        JSON.stringify(`${ROOT}mod.ts`),
      );
      await Deno.writeTextFile(file, `export {};\n${body}`);
      files.push(file);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", `${ROOT}deno.json`, ...files],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      out.code,
      0,
      `a ts block does not type-check:\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README json examples parse, and the MCP configurations start sessh's server", async () => {
  const snippets = blocks.filter((b) => b.lang === "json" && !b.noTest);
  assert.ok(
    snippets.some((b) => b.body.includes('"mcpServers"')),
    "no MCP client configuration in the README",
  );
  for (const block of snippets) {
    const at = `README.md:${block.line}`;
    const config = JSON.parse(block.body);
    const servers = Object.values(config.mcpServers ?? {}) as {
      command: string;
      args: string[];
    }[];
    for (const { command, args } of servers) {
      // `sessh ARGS…`, or `deno run -A jsr:@sessh/cli ARGS…`.
      const cliArgs = command === "sessh"
        ? args
        : args.slice(args.indexOf("jsr:@sessh/cli") + 1);
      assert.ok(
        command === "sessh" || args.includes("jsr:@sessh/cli"),
        `${at}: the server is not sessh: ${[command, ...args].join(" ")}`,
      );
      assert.equal(cliArgs[0], "mcp", `${at}: the server's verb is not mcp`);
      // With stdin at its end, a server whose flags parse exits 0 at once.
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", `${ROOT}cli.ts`, ...cliArgs],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      assert.equal(
        out.code,
        0,
        `${at}: sessh ${cliArgs.join(" ")} exited ${out.code}: ` +
          new TextDecoder().decode(out.stderr),
      );
    }
  }
});

Deno.test("parseFences() reads a block's language, opt-out, reason and output", () => {
  const fence = "`".repeat(3);
  const markdown = [
    `${fence}sh no-test: needs a real host`,
    "sessh run work me@host -- uptime",
    fence,
    "",
    `${fence}sh`,
    "echo hi",
    fence,
    "",
    "It prints:",
    "",
    `${fence}text`,
    "hi",
    fence,
    "",
    `${fence}text`,
    "alone",
    fence,
    "",
  ].join("\n");
  const [optedOut, run, output, alone] = parseFences(markdown);
  assert.deepEqual(
    [optedOut.lang, optedOut.noTest, optedOut.reason, optedOut.line],
    ["sh", true, "needs a real host", 1],
  );
  assert.deepEqual([run.noTest, run.body, run.output], [
    false,
    "echo hi\n",
    "hi\n",
  ]);
  assert.deepEqual([output.isOutput, alone.isOutput], [true, false]);
});

Deno.test("parseFences() takes an output across one paragraph ending in a colon, not more", () => {
  const fence = "`".repeat(3);
  const after = (between: string) =>
    parseFences(
      `${fence}sh\necho hi\n${fence}\n\n${between}\n\n${fence}text\nhi\n${fence}\n`,
    )[0].output;
  assert.equal(after("It prints\nthis line:"), "hi\n");
  assert.equal(after("One paragraph.\n\nAnother:"), undefined);
  assert.equal(after("It prints this line."), undefined);
});

Deno.test("parseFences() reads a block indented in a list item", () => {
  const fence = "`".repeat(3);
  const [block] = parseFences(
    `- A list item:\n\n  ${fence}sh\n  echo hi\n    echo there\n  ${fence}\n`,
  );
  assert.deepEqual([block.lang, block.body], ["sh", "echo hi\n  echo there\n"]);
});

Deno.test("parseFences() refuses a block that never closes", () => {
  assert.throws(
    () => parseFences("intro\n\n```sh\necho hi\n"),
    /Line 3: the block never closes/,
  );
});
