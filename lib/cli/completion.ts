/**
 * Shell completion: the script `sessh completions SHELL` prints, which asks
 * `sessh __complete -- WORDS…` for the words that may come next (verbs,
 * flags, destinations from `~/.ssh/config` and key names).
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** The shells a completion script is written for. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;

/**
 * The completion script for a shell, to `eval` (bash, zsh) or `source`
 * (fish) from its startup file. It completes the command `sessh`.
 *
 * @param shell `bash`, `zsh` or `fish`.
 * @returns The script.
 * @throws {UsageError} for another shell.
 *
 * @example
 * ```ts
 * import { completionScript } from "./completion.ts";
 * console.log(completionScript("bash").includes("complete -F")); // true
 * ```
 */
export function completionScript(shell: string): string {
  switch (shell) {
    case "bash":
      return `# sessh completion for bash: eval "$(sessh completions bash)" in ~/.bashrc
_sessh_complete() {
  local line word
  COMPREPLY=()
  while IFS= read -r line; do
    # Quoted as bash reads it back: bash inserts a reply as it is, and a
    # host name from ~/.ssh/config such as a$(cmd) must stay a name.
    printf -v word '%q' "\${line%%$'\\t'*}"
    COMPREPLY+=("$word")
  done < <(sessh __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
}
complete -o default -F _sessh_complete sessh
`;
    case "zsh":
      return `# sessh completion for zsh: eval "$(sessh completions zsh)" in ~/.zshrc, after compinit
_sessh() {
  local -a lines words_done candidates
  local line
  lines=("\${(@f)$(sessh __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    [[ -n $line ]] && candidates+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
  done
  _describe -t sessh 'sessh' candidates
}
compdef _sessh sessh
`;
    case "fish":
      return `# sessh completion for fish: sessh completions fish | source, in ~/.config/fish/config.fish
complete -c sessh -f -a '(sessh __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`;
    default:
      throw new UsageError(
        `No completion for the shell "${shell}"; give one of ${
          COMPLETION_SHELLS.join(", ")
        }`,
      );
  }
}
