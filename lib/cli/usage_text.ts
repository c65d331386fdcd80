/**
 * What the command line says when its arguments are wrong: Stricli's
 * messages rewritten in sessh's voice (what was wrong, what to do), and the
 * first such error kept so that its code survives into `--json`.
 *
 * @module
 */
import {
  type ApplicationText,
  ArgumentParseError,
  ArgumentScannerError,
  formatMessageForArgumentScannerError,
  text_en,
} from "@stricli/core";
import { SesshError, UsageError } from "../errors.ts";
import { PAYLOADS } from "./args.ts";

/**
 * An argument error found by the parser itself (an unknown option, a
 * missing or extra argument), as opposed to a value our own parsers
 * refused with a message that already says what to do. The command line
 * points to `--help` for these.
 */
export class ArgumentError extends UsageError {
  /** The verb whose `--help` tells its grammar; empty when there is none. */
  readonly verb: string;

  /**
   * Creates the error.
   *
   * @param message What was wrong.
   * @param verb The verb it concerns ("" for an unknown one).
   */
  constructor(message: string, verb: string) {
    super(message);
    this.name = "ArgumentError";
    this.verb = verb;
  }
}

/**
 * Describes an argument error Stricli found, for the verb being parsed.
 *
 * @param error What Stricli threw or reported.
 * @param verb The verb on the command line.
 * @returns The error to report.
 *
 * @example
 * ```ts ignore
 * import { usageError } from "./usage_text.ts";
 * usageError(scannerError, "run").message;
 * // 'Unexpected argument "echo"; put the COMMAND after --: sessh run NAME DEST -- COMMAND'
 * ```
 */
export function usageError(error: unknown, verb: string): SesshError {
  if (error instanceof ArgumentParseError) {
    if (error.exception instanceof SesshError) return error.exception;
  }
  if (error instanceof SesshError) return error;
  if (!(error instanceof ArgumentScannerError)) {
    return new ArgumentError(String((error as Error)?.message ?? error), verb);
  }
  const message = formatMessageForArgumentScannerError(error, {
    FlagNotFoundError: (e) =>
      `Unknown option "--${e.input}"${
        e.corrections.length
          ? `; did you mean --${kebab(e.corrections[0])}?`
          : ""
      }`,
    AliasNotFoundError: (e) => `Unknown option "-${e.input}"`,
    UnexpectedPositionalError: (e) => {
      const payload = PAYLOADS[verb as keyof typeof PAYLOADS];
      return payload
        ? `Unexpected argument ${
          JSON.stringify(e.input)
        }; put the ${payload} after --: sessh ${verb} NAME DEST -- ${payload}`
        : `Unexpected argument ${
          JSON.stringify(e.input)
        }; sessh ${verb} takes ${e.expectedCount} at most`;
    },
    UnsatisfiedPositionalError: (e) => `Missing ${e.placeholder}`,
    UnsatisfiedFlagError: (e) => `Option ${e.externalFlagName} needs a value`,
    ArgumentParseError: (e) =>
      `Invalid ${e.externalFlagNameOrPlaceholder} ${JSON.stringify(e.input)}: ${
        (e.exception as Error)?.message ?? e.exception
      }`,
  });
  return new ArgumentError(message, verb);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/**
 * Stricli's English text, with argument errors handed to `onError` (the
 * command line reports them itself) and unknown verbs named plainly.
 *
 * @param onError Receives each argument error.
 * @returns The text for `buildApplication`'s `localization`.
 */
export function usageText(onError: (error: unknown) => void): ApplicationText {
  return {
    ...text_en,
    exceptionWhileParsingArguments(error: unknown) {
      onError(error);
      return "";
    },
    noCommandRegisteredForInput({ input, corrections }) {
      onError(
        new ArgumentError(
          `Unknown command ${JSON.stringify(input)}${
            corrections.length
              ? `; did you mean ${corrections[0].replaceAll("`", "")}?`
              : ""
          }`,
          "",
        ),
      );
      return "";
    },
  };
}
