#!/usr/bin/env bash
# Checks the Docker Compose files with compose-go, the loader 'docker compose' itself uses, with
# no Docker engine: the schema (unknown keys, wrong types), interpolation, env_file and paths,
# and the consistency check (a depends_on naming a missing service, ...). Prints one line per
# file, "ok FILE: N services" or "error FILE: <the loader's error>"; exits non-zero on any error.
#
# Usage: infrastructure/compose-check/check.sh [--help] [PATH...]
#   PATH...  compose files, or folders to search for them (default: every compose file of the
#            repository that git knows of or would add: tracked, or new and not ignored)
# A compose file is one named (docker-)compose*.yml or .yaml, outside fixtures/ folders. A file
# that another one includes is checked as Compose loads an include, its depends_on against the
# including project (README.md beside this script).
#
# The variables that start-all.sh generates (the secrets) get the stand-in values of
# dummy-secrets.env beside this script, in place of infrastructure/.env; nothing else from the
# environment is interpolated, so the defaults of the compose files apply. No real secret is read.
#
# The checker (main.go) is built on first use into ${SENSOR_STREAMING_CACHE:-<repo>/.stack-cache}/
# compose-check/, with Go's module and build caches there too, and reused while main.go, go.mod,
# go.sum and the Go version stay the same (a hash of them names the binary). The first run
# downloads the modules go.sum pins and builds (30 to 45 s); later runs take well under a
# second. Needs Go 1.24 or later on PATH (or GO=/path/to/go).
# Exit status: 0 every file loads, 1 a file does not, 2 the checker could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

case "${1:-}" in
  -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
  -*) printf 'check.sh: unknown option %s (see --help)\n' "$1" >&2; exit 2 ;;
esac

fail() { printf 'check.sh: %s\n' "$*" >&2; exit 2; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

cache=$(abspath "${SENSOR_STREAMING_CACHE:-$root/.stack-cache}")/compose-check
go=${GO:-go}
build_flags="-mod=readonly -modcacherw -buildvcs=false -trimpath"

# ---- the compose files ----------------------------------------------------------------------
is_compose_file() { # PATH
  case "/$1" in */fixtures/*) return 1 ;; esac
  [[ "${1##*/}" =~ ^(docker-)?compose[^/]*\.ya?ml$ ]]
}
find_compose_files() { # FOLDER: every compose file under it, sorted
  local dir="$1"
  find "$dir" \( -name .git -o -name node_modules -o -name .stack-cache -o -name .local-stack -o -path "$cache" \) -prune \
    -o -type f -print | while IFS= read -r path; do
      if is_compose_file "$path"; then printf '%s\n' "$path"; fi
    done | LC_ALL=C sort
}

files=()
if [ $# -eq 0 ]; then
  cd "$root"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' path; do
      # Tracked but deleted, or inside the cache (SENSOR_STREAMING_CACHE in the work tree).
      [ -f "$path" ] || continue
      case "$root/$path" in "$cache"/*) continue ;; esac
      if is_compose_file "$path"; then files+=("$path"); fi
    done < <(git ls-files -z --cached --others --exclude-standard | LC_ALL=C sort -z)
  else
    while IFS= read -r path; do files+=("${path#./}"); done < <(find_compose_files .)
  fi
  [ ${#files[@]} -gt 0 ] || fail "no compose file found in $root"
else
  for arg in "$@"; do
    if [ -d "$arg" ]; then
      found=0
      while IFS= read -r path; do files+=("$path"); found=1; done < <(find_compose_files "${arg%/}")
      [ "$found" = 1 ] || fail "no compose file found under $arg"
    elif [ -f "$arg" ]; then
      files+=("$arg")
    else
      fail "$arg: no such file or folder"
    fi
  done
fi

# ---- the checker, built once per version of its sources -----------------------------------
command -v "$go" >/dev/null 2>&1 || fail "Go is needed to build the checker and '$go' is not on PATH: install Go 1.24 or later (or set GO)"
go_version=$("$go" version) || fail "'$go version' failed"
hash=$( { cat "$here/main.go" "$here/go.mod" "$here/go.sum"; printf '%s\n%s\n' "$go_version" "$build_flags"; } | sha256sum | cut -c1-16)
binary=$cache/compose-check-$hash
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  printf 'check.sh: building the checker (%s) into %s; the first build downloads Go modules\n' "${go_version#go version }" "$cache" >&2
  started=$SECONDS
  tmp=$binary.tmp.$$
  trap 'rm -f "$tmp"' EXIT
  # Niced: the unit tests run beside this build on a fresh clone.
  if ! (cd "$here" && GOWORK=off GOFLAGS=$build_flags GOMODCACHE=$cache/go-mod GOCACHE=$cache/go-build nice -n 10 "$go" build -o "$tmp" .); then
    fail "building the checker failed (see above)"
  fi
  mv -f "$tmp" "$binary"
  trap - EXIT
  # Binaries of older sources.
  for old in "$cache"/compose-check-*; do
    case "$old" in "$binary"|*.tmp.*) ;; *) rm -f "$old" ;; esac
  done
  printf 'check.sh: built in %ss\n' "$((SECONDS - started))" >&2
fi

status=0
"$binary" --env-file "$here/dummy-secrets.env" -- "${files[@]}" || status=$?
exit "$status"
