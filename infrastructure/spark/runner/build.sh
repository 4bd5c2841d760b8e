#!/usr/bin/env bash
# Builds the runner jar with javac against Spark's own jars: no Maven project, no Scala.
# Usage: SPARK_HOME=... infrastructure/spark/runner/build.sh [OUT_JAR]
# Default output: infrastructure/spark/runner/build/sensor-streaming-runner.jar
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SPARK_HOME:?set SPARK_HOME to a Spark 3.5 installation (the local stack prints it: infrastructure/local/stack.sh env)}"
out=${1:-$here/build/sensor-streaming-runner.jar}
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
mapfile -t sources < <(find "$here/src" -name '*.java' | sort)
javac --release 17 -Xlint:all,-serial,-processing,-path -Werror -cp "$SPARK_HOME/jars/*" -d "$classes" "${sources[@]}"
mkdir -p "$(dirname "$out")"
jar --create --file "$out" --main-class io.sensorstreaming.runner.Runner -C "$classes" .
echo "built $out"
