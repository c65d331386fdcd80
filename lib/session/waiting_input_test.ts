import assert from "node:assert/strict";
import { waitingForInput } from "./waiting_input.ts";

const encoder = new TextEncoder();

function running(tail: string | Uint8Array, command: string | null = null) {
  return waitingForInput({
    running: true,
    command,
    tail: typeof tail === "string" ? encoder.encode(tail) : tail,
  });
}

Deno.test("waitingForInput() recognises prompts on the last line", async (t) => {
  const prompts = [
    "[sudo] password for me: ",
    "Enter passphrase for key '/home/me/.ssh/id_ed25519': ",
    "Password:",
    "Overwrite? [y/N] ",
    "Proceed (y/n)? ",
    "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
    "Do you want to continue? ",
    "(END)",
    "--More--(42%)",
    ":",
    ">>> ",
    "What is your name? ",
  ];
  for (const prompt of prompts) {
    await t.step(JSON.stringify(prompt), () => {
      assert.equal(running(`some output\r\n${prompt}`), true);
    });
  }
});

Deno.test("waitingForInput() is false for output that is no prompt", async (t) => {
  const outputs = [
    "building...\r\n",
    "progress 42%",
    "Password accepted\r\n",
    "done? not yet, still working",
    "",
  ];
  for (const output of outputs) {
    await t.step(JSON.stringify(output), () => {
      assert.equal(running(output), false);
    });
  }
});

Deno.test("waitingForInput() is false when no command runs", () => {
  assert.equal(
    waitingForInput({
      running: false,
      command: null,
      tail: encoder.encode("Password: "),
    }),
    false,
  );
});

Deno.test("waitingForInput() treats pagers as waiting whatever they show", () => {
  assert.equal(running("line 1\r\nline 2\r\n", "less -R notes.txt"), true);
  assert.equal(running("", "/usr/bin/man ls"), true);
  assert.equal(running("", "pg"), true);
  assert.equal(running("", "lesser"), false);
});

Deno.test("waitingForInput() skips escape sequences, blank lines and carriage returns", () => {
  assert.equal(
    running("\x1b[1mPassword:\x1b[0m \x1b]0;title\x07\r\n\r\n  \r\n"),
    true,
  );
  assert.equal(running("Continue? \x1b[K\r\x1b[2Kworking"), false);
  assert.equal(running("working\rOverwrite? [y/n] "), true);
  // An OSC string cut off by the end of the tail hides the rest.
  assert.equal(running("Password: \x1b]0;half a tit"), true);
});

Deno.test("waitingForInput() decodes UTF-8 after stripping escapes", () => {
  const tail = Uint8Array.from([
    ...encoder.encode("Mot de passe\u00a0?"),
    0x1b,
    0x5b,
    0x30,
    0x6d,
  ]);
  assert.equal(running(tail), true);
  // A character cut at the start of the tail does not matter.
  assert.equal(running(encoder.encode("ü> ok?").subarray(1)), true);
});
