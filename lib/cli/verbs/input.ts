/**
 * `send` and `keys`: type text, from the command line, a file or stdin,
 * and press keys.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import {
  type CommonFlags,
  connect,
  type Outcome,
  payloadOf,
  type Target,
} from "../call.ts";
import { targetVerb } from "../context.ts";
import { isKeyName, KEY_NAMES } from "../../session/keys.ts";

/** Options of `send`. */
export interface SendFlags extends CommonFlags {
  /** Press Enter after the text. */
  enter?: boolean;
  /** Send this file's bytes (`-`: stdin) instead of the text after `--`. */
  file?: string;
}

/**
 * `send NAME DEST -- TEXT`: type literal text.
 *
 * @param t NAME DEST [PORT].
 * @param payload The words after `--`, joined by spaces.
 * @param flags Options (`enter`).
 * @returns The outcome.
 */
export async function sendCommand(
  t: Target,
  payload: string[] | null,
  flags: SendFlags,
): Promise<Outcome> {
  if (flags.file !== undefined && payload !== null) {
    throw new UsageError(
      "Pass the text after -- or --file PATH, not both",
    );
  }
  const text = (payload ?? []).join(" ");
  if (flags.file === undefined) {
    if (payload === null && !flags.enter) payloadOf("send", payload);
    if (text === "" && !flags.enter) {
      throw new UsageError(
        "Empty text; put it after --: sessh send NAME DEST -- TEXT",
      );
    }
  }
  // Opened before connecting: a missing file is a usage error, nothing sent.
  const file = flags.file === undefined || flags.file === "-"
    ? null
    : await Deno.open(flags.file).catch((error) => {
      throw new UsageError(
        `Cannot read --file ${JSON.stringify(flags.file)}: ${
          (error as Error).message
        }`,
      );
    });
  try {
    await using client = await connect(t, flags, { delivers: true });
    const source = flags.file === undefined
      ? text
      : file
      ? file.readable
      : Deno.stdin.readable;
    const written = await client.session(t.name).send(source, {
      enter: flags.enter,
    });
    return {
      op: "send",
      fields: { name: t.name, bytes: written },
      text: "",
      exitCode: 0,
    };
  } finally {
    try {
      file?.close();
    } catch { /* the stream closed it */ }
  }
}

/** Options of `keys`. */
export interface KeysFlags extends CommonFlags {
  /** Type words that name no key as text, instead of refusing them. */
  literal?: boolean;
}

/**
 * Refuses a word that names no key: `keys -- Foo` would type "Foo", which
 * is seldom what was meant.
 *
 * @param keys The words after `--`.
 * @throws {UsageError} For the first word that names no key, with the names.
 *
 * @example
 * ```ts
 * import { checkKeyNames } from "./input.ts";
 * checkKeyNames(["C-c", "Enter", "q"]); // fine
 * ```
 */
export function checkKeyNames(keys: readonly string[]): void {
  const unknown = keys.find((key) => !isKeyName(key));
  if (unknown === undefined) return;
  const names = KEY_NAMES.filter((k) => !/^F\d/.test(k)).join(", ");
  throw new UsageError(
    `Unknown key ${JSON.stringify(unknown)}; give key names (${names}, ` +
      `F1…F12, one character, or C-, M-, S- before one: C-c, M-x), ` +
      `or --literal to type words as text`,
  );
}

/**
 * `keys NAME DEST -- KEY…`: press keys by tmux name.
 *
 * @param t NAME DEST [PORT].
 * @param payload The key names after `--`.
 * @param flags Options (`literal`).
 * @returns The outcome.
 */
export async function keysCommand(
  t: Target,
  payload: string[] | null,
  flags: KeysFlags,
): Promise<Outcome> {
  const keys = payloadOf("keys", payload);
  if (!flags.literal) checkKeyNames(keys);
  await using client = await connect(t, flags, { delivers: true });
  await client.session(t.name).keys(keys);
  return { op: "keys", fields: { name: t.name, keys }, text: "", exitCode: 0 };
}

/** `send`, as its grammar in `input_command.ts` calls it. */
export const send = targetVerb<SendFlags>((t, flags, context) =>
  sendCommand(t, context.payload, flags)
);

/** `keys`, as its grammar in `input_command.ts` calls it. */
export const keys = targetVerb<KeysFlags>((t, flags, context) =>
  keysCommand(t, context.payload, flags)
);
