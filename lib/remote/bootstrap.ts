/**
 * Bootstrapping the remote helper over an ssh channel: the fixed remote
 * command, and the handshake that ships the helper on first use and then
 * waits for the helper's magic line, skipping whatever the login shell's
 * startup files print.
 *
 * @module
 */
import { HELPER_HASH, HELPER_PACKED, LOADER_SOURCE } from "./_helper_source.ts";
import { decodeBase64 } from "../bytes.ts";
import { SesshError } from "../errors.ts";
import { PROTOCOL_VERSION } from "../contract/spec.ts";

/** Protocol version this client speaks; the helper must announce the same. */
export { PROTOCOL_VERSION };

const MAGIC = "SESSH-HELPER ";
const SEND = `SESSH-SEND ${HELPER_HASH}\n`;
const MAX_NOISE = 1024 * 1024;

/**
 * The remote command line that starts the helper's bridge. It is fixed text
 * (the loader travels hex-encoded, so no login shell can misread it); user
 * input never becomes part of it.
 *
 * @param options `pushHelper`: the helper follows on stdin unasked (see
 *   {@linkcode handshake}); `noProcfs`: the helper (and a daemon it starts)
 *   learns about processes without `/proc` (`SESSH_NO_PROCFS=1`).
 * @returns The command for `ssh … host COMMAND`.
 *
 * @example
 * ```ts
 * import { bridgeCommand } from "./bootstrap.ts";
 * console.log(bridgeCommand().startsWith("exec env ")); // true
 * ```
 */
export function bridgeCommand(
  options: { pushHelper?: boolean; noProcfs?: boolean } = {},
): string {
  const hex = Array.from(
    new TextEncoder().encode(LOADER_SOURCE),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  // The system python3 first: version managers' shims (pyenv) cost 100 ms
  // per call. The loader puts the login PATH back for the sessions. -S skips
  // site-packages, which the standard-library-only helper never needs. The
  // procfs switch is one of two fixed strings, chosen by a boolean.
  const procfs = options.noProcfs ? "SESSH_NO_PROCFS=1 " : "";
  return `exec env ${procfs}SESSH_PATH="$PATH" PATH="/usr/bin:/bin:$PATH" python3 -S -c 'exec(bytes.fromhex("${hex}"))' ${HELPER_HASH}${
    options.pushHelper ? "+" : ""
  } bridge`;
}

/** What the handshake read past the magic line: the first protocol bytes. */
export interface HandshakeResult {
  /** Bytes after the magic line, already part of the framed stream. */
  leftover: Uint8Array;
  /** Whether the helper had to be uploaded (first use of this version). */
  uploaded: boolean;
}

/**
 * Writes to the bridge's stdin; a write that fails (the pipe broken: ssh,
 * or the remote command, ended without reading it, as on a host without
 * python3) is left for its output to explain. That output ends soon after,
 * and the caller reports ssh's exit status rather than the broken pipe.
 */
async function send(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  bytes: Uint8Array,
): Promise<void> {
  try {
    await writer.write(bytes);
  } catch {
    // The read side tells why: see above.
  }
}

/**
 * Reads the bridge's stdout until the magic line, uploading the helper when
 * the loader asks for it. Rejects when the stream ends first; the caller
 * turns that into an error from ssh's exit status.
 *
 * With `pushHelper` (for a bridge started with the same option) the helper
 * is sent at once, before the loader could ask: on a host seen for the
 * first time that saves the round trip of the question, and the loader
 * reads and drops it when its cache already has the helper. `behind` goes
 * in the same write, right after the pushed helper: the loader reads its
 * stdin unbuffered, so those bytes wait in the pipe for the daemon, and
 * the daemon's first frame (the hello) needs no round trip of its own.
 *
 * @param reader The bridge's stdout.
 * @param writer The bridge's stdin.
 * @param options Whether to push the helper unasked, and what follows it.
 * @returns The bytes after the magic line.
 *
 * @example
 * ```ts ignore
 * import { handshake } from "./bootstrap.ts";
 * const child = new Deno.Command("ssh", { args: ["host", "..."], stdin: "piped", stdout: "piped" }).spawn();
 * const { leftover } = await handshake(child.stdout.getReader(), child.stdin.getWriter());
 * ```
 */
export async function handshake(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  options: { pushHelper?: boolean; behind?: Uint8Array } = {},
): Promise<HandshakeResult> {
  const decoder = new TextDecoder("latin1");
  let seen = "";
  // The same bytes, raw: the text decoder maps some bytes (0x80–0x9f, as
  // windows-1252 does) to other code units, so what follows the magic line
  // is cut from these. One byte is one code unit, so the offsets agree.
  let raw = new Uint8Array();
  let uploaded = false;
  if (options.pushHelper) {
    uploaded = true;
    const upload = helperUpload();
    const behind = options.behind ?? new Uint8Array();
    const both = new Uint8Array(upload.length + behind.length);
    both.set(upload);
    both.set(behind, upload.length);
    await send(writer, both);
  }
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new HandshakeEnded(seen);
    seen += decoder.decode(value, { stream: true });
    const grown = new Uint8Array(raw.length + value.length);
    grown.set(raw);
    grown.set(value, raw.length);
    raw = grown;
    if (!uploaded && seen.includes(SEND)) {
      uploaded = true;
      const from = seen.indexOf(SEND) + SEND.length;
      seen = seen.slice(from);
      raw = raw.slice(from);
      await send(writer, helperUpload());
    }
    const at = seen.indexOf(MAGIC);
    const eol = at < 0 ? -1 : seen.indexOf("\n", at);
    if (eol >= 0) {
      const version = seen.slice(at + MAGIC.length, eol).trim();
      if (version !== String(PROTOCOL_VERSION)) {
        throw new SesshError(
          "protocol",
          `The remote helper speaks protocol ${
            JSON.stringify(version)
          }, expected ${PROTOCOL_VERSION}; upgrade sessh on this machine`,
        );
      }
      return { leftover: raw.slice(eol + 1), uploaded };
    }
    if (seen.length > MAX_NOISE) {
      throw new SesshError(
        "helper_failed",
        "The remote login shell printed over 1 MiB before the sessh helper started; check its startup files",
      );
    }
  }
}

/**
 * The helper as the loader reads it: its compressed length on a line, then
 * its compressed bytes.
 */
function helperUpload(): Uint8Array {
  const source = decodeBase64(HELPER_PACKED);
  const head = new TextEncoder().encode(`${source.length}\n`);
  const upload = new Uint8Array(head.length + source.length);
  upload.set(head);
  upload.set(source, head.length);
  return upload;
}

/** The bridge's output ended before the magic line; `noise` is what came. */
export class HandshakeEnded extends Error {
  /** Output seen before the end. */
  readonly noise: string;
  /** @param noise Output seen before the end. */
  constructor(noise: string) {
    super("The helper's output ended before its greeting");
    this.noise = noise;
  }
}
