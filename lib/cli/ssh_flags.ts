/**
 * The common flags that shape ssh, as `SshFlags`: apart from `call.ts`, so
 * that a verb can start ssh's tools before the client's modules are loaded.
 *
 * @module
 */
import type { SshFlags } from "../ssh/settings.ts";

/** The flags of every verb that become ssh's options. */
export interface SshFlagWords {
  /** ssh -p. */
  port?: string;
  /** ssh -i. */
  identity?: string;
  /** ssh -J. */
  jump?: string;
  /** ssh -F. */
  config?: string;
  /** ssh -o, repeatable. */
  option?: string[];
  /** ssh -A. */
  forwardAgent?: boolean;
}

/**
 * Turns common flags into ssh flags.
 *
 * @param flags The parsed flags.
 * @returns ssh flags.
 *
 * @example
 * ```ts
 * import { sshFlags } from "./ssh_flags.ts";
 * console.log(sshFlags({ forwardAgent: true }).options); // ["ForwardAgent=yes"]
 * ```
 */
export function sshFlags(flags: SshFlagWords): SshFlags {
  return {
    port: flags.port,
    identity: flags.identity,
    jump: flags.jump,
    configFile: flags.config,
    options: [
      ...(flags.forwardAgent ? ["ForwardAgent=yes"] : []),
      ...(flags.option ?? []),
    ],
  };
}
