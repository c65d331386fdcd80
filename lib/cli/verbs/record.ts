/**
 * `record NAME DEST [--since CURSOR | --command ID] --output FILE.cast`:
 * the session's output with its timing, as an asciicast v2 file; the
 * whole buffer when neither option is given.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { AtomicFile, checkWritable } from "../../fs/atomic_file.ts";
import {
  type CommonFlags,
  connect,
  type Outcome,
  type Target,
} from "../call.ts";
import { targetVerb } from "../context.ts";

/** Options of `record`. */
export interface RecordFlags extends CommonFlags {
  /** Output from this cursor on. */
  since?: number;
  /** One command's output, by id. */
  command?: number;
  /** The file to write (`-`: stdout). */
  output?: string;
}

/**
 * `record`: writes the recording.
 *
 * @param t NAME DEST [PORT].
 * @param flags What to record and where.
 * @returns The outcome.
 */
export async function recordCommand(
  t: Target,
  flags: RecordFlags,
): Promise<Outcome> {
  if (flags.output === undefined) {
    throw new UsageError(
      "Name the file to write with --output FILE.cast (- for stdout)",
    );
  }
  if (flags.since !== undefined && flags.command !== undefined) {
    throw new UsageError(
      "Record either --since CURSOR or --command ID, not both (neither: the whole buffer)",
    );
  }
  if (flags.output !== "-") {
    await checkWritable(flags.output).catch((error) => {
      throw error instanceof UsageError
        ? new UsageError(`${error.message} (or --output - for stdout)`)
        : error;
    });
  }
  await using client = await connect(t, flags);
  // Neither: from the start of the buffer, all that it still holds.
  const cast = await client.session(t.name).record({
    since: flags.command === undefined ? flags.since ?? 0 : undefined,
    commandId: flags.command,
  });
  const events = cast.trimEnd().split("\n").length - 1;
  if (flags.output === "-") {
    return {
      op: "record",
      fields: { name: t.name, events },
      text: cast,
      exitCode: 0,
    };
  }
  {
    await using out = await AtomicFile.open(flags.output);
    const bytes = new TextEncoder().encode(cast);
    for (let at = 0; at < bytes.length;) {
      at += await out.file.write(bytes.subarray(at));
    }
    await out.commit();
  }
  return {
    op: "record",
    fields: { name: t.name, file: flags.output, events },
    text:
      `wrote ${flags.output}: ${events} bursts of output (play it with asciinema play)\n`,
    exitCode: 0,
  };
}

/** `record`, as its grammar in `record_command.ts` calls it. */
export const record = targetVerb(recordCommand);
