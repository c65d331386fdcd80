/**
 * The host aliases of the user's ssh config, for completing DEST: its
 * `Host` lines and those of the files it `Include`s, found as ssh finds
 * them (globs expanded and sorted, relative paths under `~/.ssh/`, `~/`
 * for the home directory, nested includes up to ssh's depth of 16).
 *
 * @module
 */

/** What one line of an ssh config says that completion needs. */
export type ConfigEntry =
  | { kind: "host"; name: string }
  | { kind: "include"; pattern: string };

/** ssh's own bound on nested `Include`s (`READCONF_MAX_DEPTH`). */
const MAX_DEPTH = 16;

/** The words of a config line's argument: blanks separate, "…" quotes. */
function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|([^\s"]+)/g)].map((m) => m[1] ?? m[2]);
}

/**
 * The `Host` aliases and `Include` patterns of an ssh config, in order.
 *
 * @param config The text of an ssh config file.
 * @returns One entry per alias and per included pattern.
 *
 * @example
 * ```ts
 * import { sshConfigEntries } from "./ssh_config.ts";
 * console.log(sshConfigEntries("Include conf.d/*\nHost box\n"));
 * // [{ kind: "include", pattern: "conf.d/*" }, { kind: "host", name: "box" }]
 * ```
 */
export function sshConfigEntries(config: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const line of config.split("\n")) {
    const match = /^\s*(host|include)(?:\s*=\s*|\s+)(.*)$/i.exec(line);
    if (!match) continue;
    const args = words(match[2].replace(/#.*/, ""));
    if (match[1].toLowerCase() === "include") {
      for (const pattern of args) entries.push({ kind: "include", pattern });
    } else {
      for (const name of args) entries.push({ kind: "host", name });
    }
  }
  return entries;
}

/**
 * The host aliases an ssh config names (`Host` lines), without patterns
 * (`*`, `?`, `!`) that no one would type as a destination.
 *
 * @param config The text of an ssh config file.
 * @returns The aliases, in order, each once.
 *
 * @example
 * ```ts
 * import { sshConfigHosts } from "./ssh_config.ts";
 * const config = "Host build-box db1\n  User me\nHost *.internal !x\nhost=lab\n";
 * console.log(sshConfigHosts(config)); // ["build-box", "db1", "lab"]
 * ```
 */
export function sshConfigHosts(config: string): string[] {
  const hosts = new Set<string>();
  for (const entry of sshConfigEntries(config)) {
    if (entry.kind === "host" && isAlias(entry.name)) hosts.add(entry.name);
  }
  return [...hosts];
}

function isAlias(name: string): boolean {
  return name !== "" && !/[*?!]/.test(name);
}

/**
 * The destinations the user's ssh config offers, its `Include`s followed.
 * A file that cannot be read is skipped, as ssh skips a missing include.
 *
 * @param home The home directory.
 * @returns Host aliases, in the order ssh reads them, each once; none
 * when there is no config.
 */
export function configuredHosts(home: string | undefined): string[] {
  if (!home) return [];
  const hosts = new Set<string>();
  const read = (path: string, depth: number) => {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      return;
    }
    for (const entry of sshConfigEntries(text)) {
      if (entry.kind === "host") {
        if (isAlias(entry.name)) hosts.add(entry.name);
      } else if (depth < MAX_DEPTH) {
        for (const file of expandInclude(entry.pattern, home)) {
          read(file, depth + 1);
        }
      }
    }
  };
  read(`${home}/.ssh/config`, 0);
  return [...hosts];
}

/**
 * The files an `Include` of the user's config names: `~/` is the home
 * directory, a relative path is under `~/.ssh/`, and `*`, `?` and `[…]`
 * match within one path component (a leading `.` only when written), the
 * matches sorted, as glob(3) gives them to ssh.
 *
 * @param pattern The path as written after `Include`.
 * @param home The home directory.
 * @returns The matching paths; the path itself when it has no glob.
 *
 * @example
 * ```ts ignore
 * expandInclude("conf.d/*.conf", "/home/me");
 * // ["/home/me/.ssh/conf.d/a.conf", "/home/me/.ssh/conf.d/b.conf"]
 * ```
 */
export function expandInclude(pattern: string, home: string): string[] {
  const path = pattern.startsWith("~/")
    ? `${home}/${pattern.slice(2)}`
    : pattern.startsWith("/")
    ? pattern
    : `${home}/.ssh/${pattern}`;
  let found = ["/"];
  for (const part of path.split("/").filter(Boolean)) {
    const glob = globRegExp(part);
    const next: string[] = [];
    for (const dir of found) {
      const base = dir.endsWith("/") ? dir : `${dir}/`;
      if (glob === null) {
        next.push(base + part);
        continue;
      }
      try {
        const names = [...Deno.readDirSync(dir)].map((e) => e.name)
          .filter((name) => glob.test(name)).sort();
        next.push(...names.map((name) => base + name));
      } catch {
        // Not a directory, or unreadable: nothing matches under it.
      }
    }
    found = next;
  }
  return found;
}

/** A path component's glob as a RegExp, or null when it has none. */
function globRegExp(part: string): RegExp | null {
  if (!/[*?[]/.test(part)) return null;
  let source = part.startsWith(".") ? "" : "(?!\\.)";
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === "*") source += ".*";
    else if (c === "?") source += ".";
    else if (c === "[" && part.indexOf("]", i + 2) > 0) {
      const end = part.indexOf("]", i + 2);
      const set = part.slice(i + 1, end).replace(/^!/, "^")
        .replace(/\\/g, "\\\\");
      source += `[${set}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
