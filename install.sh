#!/bin/sh
# Installs the sessh executable for this machine (Linux or macOS, x86_64 or
# aarch64) from a GitHub release, after checking it against the release's
# SHA256SUMS. Nothing is run or installed before the check passes.
#
#   sh install.sh [VERSION]        VERSION like v0.1.0; default: the latest
#
# Environment:
#   SESSH_INSTALL_DIR   where `sessh` goes (default: ~/.local/bin)
#   SESSH_REPO          the GitHub repository, owner/name (default: sessh/sessh)
#   SESSH_RELEASE_URL   a directory (https://, http://, file://) holding the
#                       assets and SHA256SUMS, used instead of GitHub's
#
# Exit codes: 0 installed, 2 usage or unsupported machine, 3 a download or a
# needed tool failed, 4 the download does not match SHA256SUMS.
set -eu

fail() {
  code=$1
  shift
  printf 'install.sh: %s\n' "$*" >&2
  exit "$code"
}

version=${1:-}
if [ $# -gt 1 ]; then
  fail 2 "expected at most one argument, a version like v0.1.0"
fi
case $version in
  '' | v[0-9]*.[0-9]*.[0-9]*) ;;
  *) fail 2 "\"$version\" is not a version; give one like v0.1.0, or none for the latest" ;;
esac
case $version in
  *[!A-Za-z0-9.+-]*) fail 2 "\"$version\" is not a version; give one like v0.1.0" ;;
esac

os=$(uname -s)
case $os in
  Linux) system=unknown-linux-gnu ;;
  Darwin) system=apple-darwin ;;
  *)
    fail 2 "no sessh build for \"$os\"; on Windows run install.ps1," \
      "elsewhere use JSR (see the README)"
    ;;
esac
machine=$(uname -m)
case $machine in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail 2 "no sessh build for the \"$machine\" processor; use JSR (see the README)" ;;
esac
asset="sessh-$arch-$system"

repo=${SESSH_REPO:-sessh/sessh}
if [ -n "${SESSH_RELEASE_URL:-}" ]; then
  base=${SESSH_RELEASE_URL%/}
elif [ -n "$version" ]; then
  base="https://github.com/$repo/releases/download/$version"
else
  base="https://github.com/$repo/releases/latest/download"
fi
dir=${SESSH_INSTALL_DIR:-$HOME/.local/bin}

# GitHub's downloads only over https, redirects included; a release URL of
# the user's own may be http or file.
protocols='=https'
[ -z "${SESSH_RELEASE_URL:-}" ] || protocols='=https,http,file'
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --proto "$protocols" --proto-redir "$protocols" -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  fail 3 "neither curl nor wget is installed; install one and run this again"
fi
if command -v sha256sum >/dev/null 2>&1; then
  digest() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  digest() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  fail 3 "neither sha256sum nor shasum is installed: the download cannot be checked"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sessh-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

fetch "$base/SHA256SUMS" "$work/SHA256SUMS" ||
  fail 3 "cannot download $base/SHA256SUMS"
fetch "$base/$asset" "$work/$asset" ||
  fail 3 "cannot download $base/$asset"

expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$work/SHA256SUMS")
[ -n "$expected" ] || fail 4 "SHA256SUMS names no \"$asset\"; nothing was installed"
actual=$(digest "$work/$asset")
if [ "$actual" != "$expected" ]; then
  fail 4 "$asset does not match SHA256SUMS (expected $expected, got $actual);" \
    "nothing was installed. Download it again; if it still differs, report it"
fi

mkdir -p "$dir" ||
  fail 3 "cannot create \"$dir\"; set SESSH_INSTALL_DIR to a directory you can write"
# A new file of our own in the target directory, renamed over the old one:
# a half-written sessh is never run, and a link at the target is replaced,
# never written through.
staged=$(mktemp "$dir/.sessh.XXXXXX") || fail 3 "cannot write in \"$dir\""
cat "$work/$asset" >"$staged"
chmod 755 "$staged"
mv -f "$staged" "$dir/sessh"
printf 'installed %s to %s\n' "$asset" "$dir/sessh"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) printf 'add %s to PATH to run sessh by name\n' "$dir" ;;
esac
