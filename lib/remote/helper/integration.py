"""Shell integration: the scripts that make bash, zsh and POSIX shells mark each command's start and end, and the
cwd at each prompt (`W;LENGTH;PATH`: see markers.reported_cwd; bash and zsh leave out a path with a BEL) and the
last background job (`B;$!`), which close signals too."""

import os

from files import ensure_private_dir, write_private_file

# bash's prompt runs the markers as one command (__sessh_marks), whose "$?" expands to the status of the command
# before. A function call cost bash as much as the rest of a `true` does (a shell's CPU per run of `true`, ten side by
# side: 110 -> 89 us), so __sessh_precmd, which hands the status on to the rest of a user's PROMPT_COMMAND string, is
# put in front only when there is such a rest; each part of an array sees the status anyway. In it, eval's argument
# expands "$?" before eval runs, so that the markers and its return both see the command's status. In such a rest the
# boot's own entry, which must leave a command in its place (`; cmd` alone is no command line), hands the status on
# to what the user appended after it (`:` would leave them 0).
BASH_INTEGRATION = r"""
if [[ -z "${__sessh_installed-}" ]]; then
__sessh_installed=1
__sessh_marks='printf '\''\033]6973;W;%s;%s\007\033]6973;B;%s\007\033]6973;P;%s\007'\'' "${#PWD}" "${PWD/*$'\''\a'\''*}" "$!" "$?"'
__sessh_precmd() { eval "$__sessh_marks; return $?"; }
[[ ":$PATH:" == *":$SESSH_BIN:"* ]] || PATH="$SESSH_BIN:$PATH"
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
  PROMPT_COMMAND=("$__sessh_marks" "${PROMPT_COMMAND[@]/"${SESSH_BOOT-}"/:}")
elif [[ -z $PROMPT_COMMAND || $PROMPT_COMMAND == "${SESSH_BOOT-}" ]]; then
  PROMPT_COMMAND=$__sessh_marks
else
  __sessh_pass() { return "$1"; }
  __sessh_stand='__sessh_pass "$?"'
  PROMPT_COMMAND="__sessh_precmd"$'\n'"${PROMPT_COMMAND/"${SESSH_BOOT-}"/$__sessh_stand}"
  unset __sessh_stand
fi
export -n PROMPT_COMMAND
PS0=$'\033]6973;C\007'"${PS0-}"
printf '\033]6973;I;preexec\007'
fi
if [[ -n "${SESSH_BOOT-}" ]]; then __sessh_precmd; fi
unset SESSH_BOOT
"""

ZSH_HOOKS = r"""
if [[ -z "${__sessh_installed-}" ]]; then
__sessh_installed=1
__sessh_precmd() {
  local s=$? d=$PWD; [[ $d != *$'\a'* ]] || d=
  printf '\033]6973;W;%s;%s\007\033]6973;B;%s\007\033]6973;P;%s\007' "${#d}" "$d" "$!" "$s"
  [[ ":$PATH:" == *":$SESSH_BIN:"* ]] || PATH="$SESSH_BIN:$PATH"
  return $s
}
__sessh_preexec() { printf '\033]6973;C\007' }
typeset -ga precmd_functions preexec_functions
precmd_functions=(__sessh_precmd $precmd_functions)
preexec_functions=(__sessh_preexec $preexec_functions)
printf '\033]6973;I;preexec\007'
fi
"""

ZSH_ENV = r"""
if [[ -n "${SESSH_ORIG_ZDOTDIR+x}" ]]; then ZDOTDIR=$SESSH_ORIG_ZDOTDIR; unset SESSH_ORIG_ZDOTDIR
else unset ZDOTDIR; fi
if [[ -r "${ZDOTDIR:-$HOME}/.zshenv" ]]; then source "${ZDOTDIR:-$HOME}/.zshenv"; fi
if [[ -o interactive ]]; then source "%(hooks)s"; fi
"""

POSIX_INTEGRATION = r"""
if [ -n "${SESSH_ORIG_ENV+x}" ]; then ENV=$SESSH_ORIG_ENV; unset SESSH_ORIG_ENV
else unset ENV; fi
if [ -n "${ENV-}" ] && [ -r "$ENV" ]; then . "$ENV"; fi
if [ -z "${__sessh_installed-}" ]; then
  __sessh_installed=1
  case ":$PATH:" in *":$SESSH_BIN:"*) ;; *) PATH="$SESSH_BIN:$PATH" ;; esac
  PS1="$(printf '\033]6973;W;')"'${#PWD};${PWD}'"$(printf '\007\033]6973;B;')"'$!'"$(printf '\007\033]6973;P;')"'$?'"$(printf '\007')${PS1-\$ }"
  printf '\033]6973;I;\007'
fi
"""

def shell_kind(shell):
    name = os.path.basename(shell).lstrip("-")
    if name.startswith("bash"):
        return "bash"
    if name.startswith("zsh"):
        return "zsh"
    return "posix" if name in ("sh", "dash", "ash", "ksh", "mksh", "ksh93", "posh", "busybox") else None

def install_integration(rt):
    shell_dir = os.path.join(rt, "shell")
    scripts = {"bash": os.path.join(shell_dir, "bash.sh"), "zsh": os.path.join(shell_dir, "zsh_hooks.zsh"),
               "zsh_dir": os.path.join(shell_dir, "zsh"), "posix": os.path.join(shell_dir, "posix.sh")}
    ensure_private_dir(scripts["zsh_dir"])
    for path, text in ((scripts["bash"], BASH_INTEGRATION), (scripts["zsh"], ZSH_HOOKS),
                       (os.path.join(scripts["zsh_dir"], ".zshenv"), ZSH_ENV % {"hooks": scripts["zsh"]}),
                       (scripts["posix"], POSIX_INTEGRATION)):
        write_private_file(path, text.encode())
    return scripts

def integration_env(kind, scripts, env):
    """Environment that makes a starting shell load sessh's prompt hooks."""
    if kind == "bash":
        boot = ' . "%s"' % scripts["bash"]
        return {"SESSH_BOOT": boot, "PROMPT_COMMAND": boot}
    if kind not in ("zsh", "posix"):
        return {}
    # zsh reads $ZDOTDIR/.zshenv and sh reads $ENV; the scripts restore the user's own value.
    var, value = ("ZDOTDIR", scripts["zsh_dir"]) if kind == "zsh" else ("ENV", scripts["posix"])
    return {var: value, **({"SESSH_ORIG_" + var: env[var]} if var in env else {})}

def is_typeable(command, kind, preexec):
    """Whether a command can be typed as is (readable for a human watching, and in history) rather than sourced
    from a file: only a short single line of printable text survives line editing and history expansion unchanged."""
    if kind not in ("bash", "zsh") or not preexec or len(command) > 1000 or not command.strip():
        return False
    text = command.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 become unprintable surrogates
    return text.isprintable() and "!" not in text and not text.startswith((" ", "#"))
