/**
 * `sessh record`: a session's output with its real timing as an asciicast
 * v2 file, checked by a strict parser of the format.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

/** Parses an asciicast v2 file strictly: a header, then output events in time order. */
function parseCast(text: string) {
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  const header = JSON.parse(lines[0]);
  assert.equal(header.version, 2);
  assert.ok(Number.isInteger(header.width) && header.width > 0);
  assert.ok(Number.isInteger(header.height) && header.height > 0);
  assert.ok(Number.isInteger(header.timestamp));
  const events = lines.slice(1).map((line) => JSON.parse(line));
  let last = 0;
  for (const event of events) {
    assert.equal(event.length, 3);
    const [time, kind, data] = event;
    assert.equal(typeof time, "number");
    assert.ok(time >= last, "in time order");
    last = time;
    assert.equal(kind, "o");
    assert.equal(typeof data, "string");
  }
  return { header, events: events as [number, string, string][] };
}

Deno.test("record writes a command's output as an asciicast with its real timing", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, [
      "open",
      "r",
      dest,
      "--shell",
      "bash",
      "--cols",
      "100",
      "--rows",
      "30",
    ])).code,
    0,
  );
  const ran = await sesshJson(sshd, [
    "run",
    "r",
    dest,
    "--",
    "echo mark-$((0+1)); sleep 1; echo mark-$((1+1)); sleep 0.5; echo mark-$((1+2))",
  ]);
  assert.equal(ran.code, 0, ran.stderr);
  const file = `${sshd.dir}/run.cast`;
  const recorded = await sessh(sshd, [
    "record",
    "r",
    dest,
    "--command",
    String(ran.json.command_id),
    "--output",
    file,
  ]);
  assert.equal(recorded.code, 0, recorded.stderr);
  const { header, events } = parseCast(await Deno.readTextFile(file));
  assert.equal(header.width, 100);
  assert.equal(header.height, 30);
  const at = (mark: string) => {
    const event = events.find(([, , data]) => data.includes(mark));
    assert.ok(event, `${mark} in ${JSON.stringify(events)}`);
    return event[0];
  };
  const [one, two, three] = ["mark-1", "mark-2", "mark-3"].map(at);
  assert.ok(Math.abs(two - one - 1.0) <= 0.1, `sleep 1 took ${two - one} s`);
  assert.ok(
    Math.abs(three - two - 0.5) <= 0.1,
    `sleep 0.5 took ${three - two} s`,
  );
  const text = events.map(([, , data]) => data).join("");
  assert.match(text, /mark-1\r\nmark-2\r\nmark-3\r\n/);
  assert.doesNotMatch(
    text,
    /echo mark/,
    "the command line itself is not part of its output",
  );
});

Deno.test("record --since to stdout, and refusals", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  await sessh(sshd, ["open", "r2", dest, "--shell", "bash"]);
  const start = await sesshJson(sshd, ["logs", "r2", dest, "1"]);
  await sessh(sshd, ["run", "r2", dest, "--", "echo since-$((2*21))"]);
  const out = await sessh(sshd, [
    "record",
    "r2",
    dest,
    "--since",
    String(start.json.cursor),
    "--output",
    "-",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const { events } = parseCast(out.stdout);
  assert.match(events.map(([, , d]) => d).join(""), /since-42/);
  // Neither --since nor --command: the whole buffer, as --since 0 gives it.
  const whole = await sessh(sshd, ["record", "r2", dest, "--output", "-"]);
  assert.equal(whole.code, 0, whole.stderr);
  const all = parseCast(whole.stdout).events.map(([, , d]) => d).join("");
  const fromZero = await sessh(sshd, [
    "record",
    "r2",
    dest,
    "--since",
    "0",
    "--output",
    "-",
  ]);
  assert.equal(
    all,
    parseCast(fromZero.stdout).events.map(([, , d]) => d).join(""),
  );
  assert.match(all, /since-42/);
  const both = await sessh(sshd, [
    "record",
    "r2",
    dest,
    "--since",
    "0",
    "--command",
    "1",
    "--output",
    "-",
  ]);
  assert.equal(both.code, 2);
  assert.equal(
    both.stderr,
    "sessh: Record either --since CURSOR or --command ID, not both (neither: the whole buffer)\n",
  );
  const nowhere = await sessh(sshd, ["record", "r2", dest, "--since", "0"]);
  assert.equal(nowhere.code, 2);
  assert.match(nowhere.stderr, /--output FILE.cast/);
  // A directory or a device is no file to write: exit 2, no stack.
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  for (
    const [output, said] of [
      [dir, /is a directory; give a file path to write/],
      ["/dev/stdout", /is not a regular file .* \(or --output - for stdout\)/],
      ["/dev/null", /is not a regular file/],
      [`${dir}/absent/x.cast`, /No directory .* create it first/],
    ] as const
  ) {
    const bad = await sessh(sshd, [
      "record",
      "r2",
      dest,
      "--since",
      "0",
      "--output",
      output,
    ]);
    assert.equal(bad.code, output.includes("absent") ? 1 : 2, bad.stderr);
    assert.match(bad.stderr, said);
    assert.doesNotMatch(bad.stderr, /Internal error| {4}at /);
  }
  // A link at the output is replaced, never written through.
  await Deno.writeTextFile(`${dir}/outside`, "keep");
  await Deno.symlink(`${dir}/outside`, `${dir}/r.cast`);
  const linked = await sessh(sshd, [
    "record",
    "r2",
    dest,
    "--since",
    "0",
    "--output",
    `${dir}/r.cast`,
  ]);
  assert.equal(linked.code, 0, linked.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/outside`), "keep");
  assert.ok((await Deno.lstat(`${dir}/r.cast`)).isFile);
  assert.match(await Deno.readTextFile(`${dir}/r.cast`), /since-42/);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(),
    ["outside", "r.cast"],
  );
});
