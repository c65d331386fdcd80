/**
 * `deno task demo`: starts a throwaway sshd on 127.0.0.1 and walks one real
 * session through open, run, logs, screen, status, list and close with the
 * real command line, printing each command and what it printed.
 *
 * @module
 */
import { startSshd } from "../tests/_sshd.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

try {
  await Deno.stat("/usr/sbin/sshd");
} catch {
  console.error(
    "deno task demo needs the OpenSSH server (it runs a throwaway one on 127.0.0.1): " +
      "apt-get install openssh-server",
  );
  Deno.exit(1);
}

await using sshd = await startSshd();
console.log(
  `# a throwaway sshd listens on 127.0.0.1:${sshd.port}; "${sshd.dest}" is its ssh config alias\n`,
);

async function sessh(...args: string[]): Promise<number> {
  const shown = args.map((a) =>
    /[\s'"$;|&]/.test(a) ? `'${a.replaceAll("'", `'\\''`)}'` : a
  );
  console.log(`$ sessh ${shown.join(" ")}`);
  const dashdash = args.indexOf("--");
  const full = dashdash < 0 ? [...args, "-F", sshd.configFile] : [
    ...args.slice(0, dashdash),
    "-F",
    sshd.configFile,
    ...args.slice(dashdash),
  ];
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...full],
    env: sshd.env,
    stdin: "null",
  }).output();
  const write = (stream: typeof Deno.stdout, data: Uint8Array) =>
    data.length && stream.writeSync(data);
  write(Deno.stdout, result.stdout);
  write(Deno.stderr, result.stderr);
  console.log(`[exit ${result.code}]\n`);
  return result.code;
}

const dest = sshd.dest;
await sessh("open", "demo", dest);
await sessh(
  "run",
  "demo",
  dest,
  "--",
  "cd /tmp && export GREETING=hello && count() { seq 1 $1; }",
);
await sessh("run", "demo", dest, "--", 'echo "$GREETING from $(pwd)"; count 3');
await sessh("run", "demo", dest, "--", "ls /nonexistent");
await sessh(
  "run",
  "demo",
  dest,
  "--",
  "for i in 1 2 3 4 5; do printf '\\rdownloading %d/5' $i; sleep 0.1; done; echo; echo done",
);
await sessh("logs", "demo", dest, "4");
await sessh(
  "run",
  "demo",
  dest,
  "--no-wait",
  "--",
  "top -b -n 1 | head -5; read -p 'Continue? [y/N] ' answer",
);
await sessh("wait", "demo", dest, "--for", "\\[y/N\\] $", "--timeout", "10");
await sessh("status", "demo", dest);
await sessh("send", "demo", dest, "--enter", "--", "y");
await sessh("screen", "demo", dest);
await sessh("list", dest);
await sessh("--json", "run", "demo", dest, "--", "echo json mode");
await sessh("close", "demo", dest);
console.log("# the sshd and everything it started are stopped now");
