/**
 * `sessh mcp --audit FILE`: one JSON line per tool call, written before the
 * reply goes out, so the log holds every call the model saw answered. The
 * file is append-only and private (`lib/fs/append_log.ts`). Arguments are
 * logged as the model sent them: `type_secret` takes the name of a secret,
 * never its value; any allowed secret's value found in an argument all the
 * same is replaced by `[secret]`.
 *
 * @module
 */
import { AppendLog } from "../fs/append_log.ts";

/** What became of a call. */
export type Decision = "allowed" | "refused" | "confirmed" | "declined";

/** One line of the audit log. */
export interface AuditEntry {
  /** When the call came, ISO 8601 in UTC. */
  time: string;
  tool: string;
  destination?: string;
  session?: string;
  /** The arguments, secret values replaced. */
  arguments: Record<string, unknown>;
  decision: Decision;
  /** The command's exit code, when the tool reports one. */
  exit_code?: number;
  /** From the call's arrival to its reply. */
  duration_ms: number;
  /** The error the call ended with (a refusal's reason among them). */
  error?: string;
}

/**
 * The audit log of one server.
 *
 * @example
 * ```ts
 * import { AuditLog } from "./audit.ts";
 * const path = `${Deno.makeTempDirSync()}/audit.jsonl`;
 * using audit = AuditLog.open(path);
 * audit.write({
 *   time: new Date().toISOString(),
 *   tool: "list",
 *   destination: "build1",
 *   arguments: { destination: "build1" },
 *   decision: "allowed",
 *   duration_ms: 12,
 * });
 * ```
 */
export class AuditLog implements Disposable {
  readonly #log: AppendLog;
  readonly #secrets = new Set<string>();

  private constructor(log: AppendLog) {
    this.#log = log;
  }

  /**
   * Opens (or makes) the log.
   *
   * @param path The `--audit` file.
   * @returns The log.
   * @throws {UsageError} See {@linkcode AppendLog.open}.
   */
  static open(path: string): AuditLog {
    return new AuditLog(AppendLog.open(path));
  }

  /**
   * A secret value to keep out of the log wherever it appears.
   *
   * @param value The value; an empty one is ignored.
   */
  redact(value: string): void {
    if (value !== "") this.#secrets.add(value);
  }

  /**
   * Writes one entry as one line.
   *
   * @param entry The call.
   */
  write(entry: AuditEntry): void {
    this.#log.appendLine(JSON.stringify({
      ...entry,
      arguments: this.#scrub(entry.arguments),
      ...(entry.error === undefined ? {} : { error: this.#scrub(entry.error) }),
    }));
  }

  #scrub<T>(value: T): T {
    if (typeof value === "string") {
      let text: string = value;
      for (const secret of this.#secrets) {
        text = text.replaceAll(secret, "[secret]");
      }
      return text as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.#scrub(v)) as T;
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.#scrub(v)]),
      ) as T;
    }
    return value;
  }

  [Symbol.dispose](): void {
    this.#log.close();
  }
}
