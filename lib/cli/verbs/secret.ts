/**
 * `secret`: type a secret (a password, a token) into a program that asks
 * for it with echo off. The secret comes from an environment variable, a
 * file or the local terminal, never from the command line, and travels in
 * a frame: it shows on no process's command line, in no file and, as the
 * daemon redacts it, in no output.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import {
  type CommonFlags,
  connect,
  type Outcome,
  type Target,
} from "../call.ts";
import { targetVerb } from "../context.ts";

/** Options of `secret`: exactly one source. */
export interface SecretFlags extends CommonFlags {
  /** The name of an environment variable that holds it. */
  fromEnv?: string;
  /** A file that holds it (one trailing line break is dropped). */
  fromFile?: string;
  /** Read it from the local terminal, without echo. */
  prompt?: boolean;
}

/**
 * `secret NAME DEST --from-env VAR | --from-file PATH | --prompt`.
 *
 * @param t NAME DEST [PORT].
 * @param flags Where the secret comes from.
 * @param env The environment, for `--from-env`.
 * @returns The outcome; exit 3 when the terminal echoes.
 */
export async function secretCommand(
  t: Target,
  flags: SecretFlags,
  env: Record<string, string | undefined>,
): Promise<Outcome> {
  const sources = [flags.fromEnv, flags.fromFile, flags.prompt || undefined]
    .filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new UsageError(
      "Give the secret's source once: --from-env VAR, --from-file PATH or --prompt (never the secret itself)",
    );
  }
  const secret = await readSecret(flags, env);
  await using client = await connect(t, flags, { delivers: true });
  await client.session(t.name).typeSecret(secret);
  return {
    op: "secret",
    fields: { name: t.name, typed: true },
    text: "",
    notice: `sessh: typed the secret and Enter into ${t.name}`,
    exitCode: 0,
  };
}

async function readSecret(
  flags: SecretFlags,
  env: Record<string, string | undefined>,
): Promise<Uint8Array> {
  if (flags.fromEnv !== undefined) {
    const value = env[flags.fromEnv];
    if (!value) {
      throw new UsageError(
        `The environment variable ${flags.fromEnv} is not set or empty; export it first`,
      );
    }
    return new TextEncoder().encode(value);
  }
  if (flags.fromFile !== undefined) {
    let data: Uint8Array;
    try {
      data = await Deno.readFile(flags.fromFile);
    } catch (error) {
      throw new UsageError(
        `Cannot read the secret from ${flags.fromFile}: ${
          (error as Error).message
        }`,
      );
    }
    let end = data.length;
    if (end > 0 && data[end - 1] === 10) end--;
    if (end > 0 && data[end - 1] === 13) end--;
    return data.subarray(0, end);
  }
  return await promptSecret();
}

/** Reads a line from the local terminal with echo off. */
async function promptSecret(): Promise<Uint8Array> {
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      "--prompt reads from a terminal, and stdin is not one; use --from-env or --from-file",
    );
  }
  await Deno.stderr.write(new TextEncoder().encode("secret: "));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    const buffer = new Uint8Array(64);
    reading: while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 13 || byte === 10) break reading;
        if (byte === 3) throw new UsageError("Interrupted; nothing was typed");
        if (byte === 127 || byte === 8) bytes.pop();
        else bytes.push(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(new TextEncoder().encode("\n"));
  }
  return new Uint8Array(bytes);
}

/** `secret`, as its grammar in `secret_command.ts` calls it. */
export const secret = targetVerb<SecretFlags>((t, flags, context) =>
  secretCommand(t, flags, context.env)
);
