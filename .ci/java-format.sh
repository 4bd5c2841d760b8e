#!/usr/bin/env bash
# Checks that the runner's Java is formatted as google-java-format formats it, or formats it.
#
# Usage: .ci/java-format.sh [--help] [--fix]     (npm run lint:java)
#   --fix   rewrite the files that are not formatted, instead of failing on them
#
# The files are every .java file under infrastructure/spark/runner/ (src/ and test/, not build/).
# The check prints the diff google-java-format would apply to each file that is not formatted.
#
# google-java-format (Google Java Style: 2-space indent, 100 columns) is the all-deps jar of
# com.google.googlejavaformat:google-java-format, pinned below: the newest release that runs on
# Java 17, the runner's Java. Maven fetches it on first use (mvn dependency:copy, through the local
# repository CACHE/m2 that infrastructure/local/stack.sh fills too) into
# CACHE/google-java-format/, where it is reused after; CACHE is
# ${SENSOR_STREAMING_CACHE:-<repo>/.stack-cache}, as for stack.sh. Settings: SENSOR_STREAMING_CACHE,
# MVN (the mvn to fetch with, default mvn), JAVA (the java to run it with, default java).
# Exit status: 0 formatted (or fixed), 1 files to format, 2 the formatter could not be fetched or run.
set -euo pipefail

GOOGLE_JAVA_FORMAT_VERSION=1.28.0   # later releases need Java 21
DEPENDENCY_PLUGIN=3.6.1             # maven-dependency-plugin, as in infrastructure/local/stack.sh

caller=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fix=false
case "${1:-}" in
  -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
  --fix) fix=true ;;
  "") ;;
  *) printf 'java-format.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
esac

fail() { printf 'java-format.sh: %s\n' "$*" >&2; exit 2; }

# ---- the files ---------------------------------------------------------------------------
runner=infrastructure/spark/runner
mapfile -t files < <(find "$runner" -path "$runner/build" -prune -o -name '*.java' -print | sort)
[[ ${#files[@]} -gt 0 ]] || fail "no .java file under $runner"

# ---- google-java-format, fetched once into the cache ---------------------------------------
cache=${SENSOR_STREAMING_CACHE:-$root/.stack-cache}
case "$cache" in /*) ;; *) cache=$caller/$cache ;; esac
jar=$cache/google-java-format/google-java-format-$GOOGLE_JAVA_FORMAT_VERSION-all-deps.jar
mvn=${MVN:-mvn}
java=${JAVA:-java}

fetch_formatter() { # into $jar, atomically (a half-fetched jar is never used)
  local tmp artifact="com.google.googlejavaformat:google-java-format:$GOOGLE_JAVA_FORMAT_VERSION:jar:all-deps"
  command -v "$mvn" >/dev/null 2>&1 || fail "$mvn not found: install Maven (apt-get install -y maven) or set MVN"
  mkdir -p "$(dirname "$jar")" "$cache/m2"
  tmp=$(mktemp -d "$(dirname "$jar")/fetch.XXXXXX")
  printf 'java-format.sh: fetching %s into %s\n' "$artifact" "$(dirname "$jar")" >&2
  # Run from the empty folder, so that no pom.xml around changes what Maven does.
  if ! (cd "$tmp" && "$mvn" -B -Dstyle.color=never -Dmaven.repo.local="$cache/m2" \
    "org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="$artifact" -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1); then
    tail -n 30 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    fail "mvn could not fetch $artifact (the end of its output is above)"
  fi
  mv -f "$tmp/$(basename "$jar")" "$jar"
  rm -rf "$tmp"
}

[[ -f "$jar" ]] || fetch_formatter
command -v "$java" >/dev/null 2>&1 || fail "$java not found: install Java 17 (apt-get install -y openjdk-17-jdk-headless) or set JAVA"

# google-java-format parses with javac's internal API, which Java 16 and later close to other
# modules: these flags open it (the jar's manifest opens it only when started with java -jar).
# https://github.com/google/google-java-format#jdk-16
exports=()
for package in api code file parser tree util; do
  exports+=("--add-exports=jdk.compiler/com.sun.tools.javac.$package=ALL-UNNAMED")
done
formatter=("$java" "${exports[@]}" -cp "$jar" com.google.googlejavaformat.java.Main)

if $fix; then
  "${formatter[@]}" --replace "${files[@]}" || fail "google-java-format $GOOGLE_JAVA_FORMAT_VERSION failed (see above)"
  printf 'google-java-format %s: formatted %s Java files\n' "$GOOGLE_JAVA_FORMAT_VERSION" "${#files[@]}"
  exit 0
fi

# --dry-run names the files it would change and fails only when it cannot format one.
changed=$("${formatter[@]}" --dry-run "${files[@]}") || fail "google-java-format $GOOGLE_JAVA_FORMAT_VERSION failed (see above)"
if [[ -z "$changed" ]]; then
  printf 'google-java-format %s: %s Java files formatted\n' "$GOOGLE_JAVA_FORMAT_VERSION" "${#files[@]}"
  exit 0
fi
while IFS= read -r file; do
  "${formatter[@]}" "$file" | diff -u --label "$file" --label "$file (formatted)" "$file" - || true
done <<<"$changed"
printf 'google-java-format %s: %s of %s Java files not formatted (diffs above); run .ci/java-format.sh --fix\n' \
  "$GOOGLE_JAVA_FORMAT_VERSION" "$(wc -l <<<"$changed")" "${#files[@]}" >&2
exit 1
