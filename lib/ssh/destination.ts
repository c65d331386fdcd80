/**
 * Parsing and validating the DESTINATION (and optional PORT) the user names
 * on the command line, before any of it reaches ssh's argv.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { wellFormed } from "../well_formed.ts";

/** A validated ssh destination. */
export interface Destination {
  /** Host name, address (IPv6 without brackets) or `~/.ssh/config` alias. */
  host: string;
  /** Login name, when given as `user@host`. */
  user?: string;
  /** TCP port, when given as `ssh://host:port` or as the PORT argument. */
  port?: number;
  /** Canonical text for messages, e.g. `admin@[::1]:2222`. */
  display: string;
}

/** Characters OpenSSH 9.6+ refuses in host names (`valid_hostname`); 9.2 does not check. */
const HOST_FORBIDDEN = /['`"$\\;&<>|(){}]/;
/** Characters OpenSSH 9.6+ refuses in user names (`valid_ruser`). */
const USER_FORBIDDEN = /['`";&<>|(){}]/;
// deno-lint-ignore no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;
const ADVICE = "pass user@host, ssh://user@host:port or an ssh config alias";

/**
 * Parses `host`, `user@host`, `ssh://[user@]host[:port]` (IPv6 in brackets)
 * or an ssh config alias, plus the optional trailing PORT argument.
 *
 * Everything that could be mistaken for an ssh option or smuggled into a
 * `ProxyCommand` expansion is refused: a leading `-`, whitespace, control
 * characters and shell metacharacters. So is text that is not valid UTF-8
 * (U+FFFD, as Deno gives an invalid argument, or a lone surrogate).
 *
 * @param text The DESTINATION argument.
 * @param port The optional PORT argument, digits 1-65535.
 * @returns The destination, with `port` from the URL or the PORT argument.
 * @throws {UsageError} `invalid_destination` saying what was wrong.
 *
 * @example
 * ```ts
 * import { parseDestination } from "./destination.ts";
 * const dest = parseDestination("ssh://admin@[::1]:2222");
 * console.log(dest.user, dest.host, dest.port); // "admin" "::1" 2222
 * console.log(parseDestination("db1", "22").display); // "db1:22"
 * ```
 */
export function parseDestination(text: string, port?: string): Destination {
  if (text === "") refuse("Destination is empty; " + ADVICE);
  wellFormed(text, "Destination", "invalid_destination");
  if (text.startsWith("-")) {
    refuse(`Destination ${quote(text)} begins with "-"; ${ADVICE}`);
  }
  if (WHITESPACE_OR_CONTROL.test(text)) {
    refuse(
      `Destination ${
        quote(text)
      } contains whitespace or control characters; ${ADVICE}`,
    );
  }
  const parsed = text.startsWith("ssh://") ? parseUrl(text) : parsePlain(text);
  const extraPort = port === undefined ? undefined : parsePort(port, text);
  if (
    parsed.port !== undefined && extraPort !== undefined &&
    parsed.port !== extraPort
  ) {
    refuse(
      `Destination ${
        quote(text)
      } names port ${parsed.port} but the PORT argument is ${extraPort}; give the port once`,
    );
  }
  return build(parsed.host, parsed.user, parsed.port ?? extraPort, text);
}

interface Parts {
  host: string;
  user?: string;
  port?: number;
}

function parseUrl(text: string): Parts {
  const rest = text.slice("ssh://".length);
  const at = rest.lastIndexOf("@");
  const user = at === -1 ? undefined : rest.slice(0, at);
  const hostPort = rest.slice(at + 1);
  let host: string;
  let port: string | undefined;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close === -1) {
      refuse(
        `Destination ${quote(text)} has "[" without "]"; write ssh://[::1]:22`,
      );
    }
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) {
      refuse(
        `Destination ${
          quote(text)
        } has text after "]"; write ssh://user@[address]:port`,
      );
    }
    port = after === "" ? undefined : after.slice(1);
  } else {
    const colon = hostPort.indexOf(":");
    host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    port = colon === -1 ? undefined : hostPort.slice(colon + 1);
    if (host.includes("/") || port?.includes("/")) {
      refuse(
        `Destination ${
          quote(text)
        } has a path; ssh URLs are ssh://user@host:port`,
      );
    }
  }
  return {
    host,
    user,
    port: port === undefined ? undefined : parsePort(port, text),
  };
}

function parsePlain(text: string): Parts {
  const at = text.lastIndexOf("@");
  const user = at === -1 ? undefined : text.slice(0, at);
  const host = text.slice(at + 1);
  if (host.startsWith("[")) {
    refuse(
      `Destination ${
        quote(text)
      } has brackets; write the address bare (user@::1) or as ssh://user@[::1]:port`,
    );
  }
  if (host.split(":").length === 2) {
    refuse(
      `Destination ${
        quote(text)
      } looks like host:port; write ssh://${text} or pass the port as the PORT argument`,
    );
  }
  return { host, user };
}

function build(
  host: string,
  user: string | undefined,
  port: number | undefined,
  text: string,
): Destination {
  if (user !== undefined) {
    if (user === "") {
      refuse(
        `Destination ${quote(text)} has an empty user before "@"; ${ADVICE}`,
      );
    }
    if (user.startsWith("-")) {
      refuse(
        `User ${quote(user)} in ${quote(text)} begins with "-"; ${ADVICE}`,
      );
    }
    if (USER_FORBIDDEN.test(user)) {
      refuse(
        `User ${quote(user)} in ${
          quote(text)
        } contains shell metacharacters; ${ADVICE}`,
      );
    }
  }
  if (host === "") refuse(`Destination ${quote(text)} has no host; ${ADVICE}`);
  if (host.startsWith("-")) {
    refuse(`Host ${quote(host)} in ${quote(text)} begins with "-"; ${ADVICE}`);
  }
  if (HOST_FORBIDDEN.test(host)) {
    refuse(
      `Host ${quote(host)} in ${
        quote(text)
      } contains shell metacharacters; ${ADVICE}`,
    );
  }
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const display = (user === undefined ? "" : `${user}@`) + shownHost +
    (port === undefined ? "" : `:${port}`);
  return {
    host,
    ...(user === undefined ? {} : { user }),
    ...(port === undefined ? {} : { port }),
    display,
  };
}

function parsePort(text: string, destination: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    refuse(
      `Port ${quote(text)} for ${
        quote(destination)
      } is not a number from 1 to 65535`,
    );
  }
  return port;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function refuse(message: string): never {
  throw new UsageError(message, "invalid_destination");
}
