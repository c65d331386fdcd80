import assert from "node:assert/strict";
import { mayBeThin, watchBeats } from "./thin_client.ts";
import { agentFiles, newAgentKeys } from "../transport/agent_files.ts";

Deno.test("mayBeThin() offers the agent only the verbs it may run", async (t) => {
  const offered = [
    ["run", "w", "box", "--", "make"],
    ["--json", "status", "w", "box"],
    ["pane", "w", "box"],
    ["logs", "w", "box", "20"],
    ["run", "w", "box", "--", "grep", "--help"],
    ["run", "w", "--hosts", "a,b", "--", "true"],
    ["logs", "w", "box", "--follow"],
    ["cp", "a", "box:b"],
    ["--json", "cp", "--resume", "box:a", "b"],
    ["cp", "-r", "a", "box:b"],
  ];
  const kept = [
    [],
    ["open", "w", "box"],
    ["send", "w", "box", "--file", "x"],
    ["run", "w", "--hosts-file", "farm.txt", "--", "true"],
    ["run", "--help"],
    ["help", "run"],
  ];
  for (const args of offered) {
    await t.step(args.join(" "), () => assert.equal(mayBeThin(args), true));
  }
  for (const args of kept) {
    await t.step(
      args.join(" ") || "(none)",
      () => assert.equal(mayBeThin(args), false),
    );
  }
});

Deno.test("thinCall() declines an agent that takes its key and never shows its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessh-thin-" });
  try {
    // The client's own default program, as the process below has it.
    const files = agentFiles(dir, "unix");
    const { keys, text } = newAgentKeys();
    await Deno.writeTextFile(files.token, text, { mode: 0o600 });
    const listener = Deno.listen({ transport: "unix", path: files.socket });
    await Deno.chmod(files.socket, 0o600);
    const held: Deno.Conn[] = [];
    let heard = "";
    const serving = (async () => {
      for await (const conn of listener) {
        held.push(conn);
        const key = new Uint8Array(36);
        let got = 0;
        while (got < 36) got += (await conn.read(key.subarray(got))) ?? 36;
        heard = new TextDecoder().decode(key);
        // Then silence: no key of its own, no close.
      }
    })().catch(() => {});
    const module = new URL("./thin_client.ts", import.meta.url).href;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { thinCall } = await import(${JSON.stringify(module)});
         console.log(await thinCall(["status", "w", "box"]));
         Deno.exit(0);`,
      ],
      env: { SESSH_CONTROL_DIR: dir, SESSH_AGENT_LISTEN: "unix" },
      stdout: "piped",
      stderr: "piped",
      // Far past the client's own deadline for the agent's key (5 s).
      signal: AbortSignal.timeout(30_000),
    }).output();
    listener.close();
    for (const conn of held) conn.close();
    await serving;
    assert.equal(heard, keys.call, "the client never reached the agent");
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(new TextDecoder().decode(stdout), "null\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watchBeats() gives up on a peer that says nothing", async () => {
  let stop = () => {};
  const guard = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve("never gave up"), 5_000);
    stop = () => clearTimeout(timer);
  });
  const gaveUp = new Promise<string>((resolve) => {
    watchBeats(20, () => resolve("gave up"));
  });
  assert.equal(await Promise.race([gaveUp, guard]), "gave up");
  stop();
});

Deno.test("watchBeats() keeps a peer that speaks between its checks", async () => {
  let silent = false;
  const watch = watchBeats(100, () => silent = true);
  // Ten periods, heard ten times in each: never three checks without.
  const speaking = setInterval(() => watch.heard(), 10);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  clearInterval(speaking);
  watch.stop();
  assert.equal(silent, false);
});
