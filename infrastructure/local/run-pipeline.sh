#!/usr/bin/env bash
# Runs the pipeline on the local stack, in the foreground, straight through spark-submit:
# starts the stack (installing it on first use), builds the runner, compiles and stages the
# spec, and runs it until Ctrl-C, which stops it gracefully (the running micro-batch finishes,
# checkpoints stay consistent, the next run resumes where this one stopped).
#
# Usage: infrastructure/local/run-pipeline.sh [--simulate] [--spec FILE] [--profile NAME]
#   --simulate      also send synthetic readings of every registered device (sensor-streaming simulate)
#   --spec FILE     pipeline spec (default conf/pipeline.yaml)
#   --profile NAME  profile overlay (default local)
# Environment: SIMULATE_RATE (readings/s, default 20) and the stack's variables (stack.sh --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

spec=conf/pipeline.yaml
profile=local
simulate=false
while [ $# -gt 0 ]; do
  case "$1" in
    --simulate) simulate=true ;;
    --spec) spec=${2:?--spec needs a file}; shift ;;
    --profile) profile=${2:?--profile needs a name}; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "run-pipeline: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

say() { printf '\n>> %s\n' "$*"; }
cli() { node "$root/dist/cli/main.js" "$@"; }

[ -f dist/cli/main.js ] || { say "building the CLI"; npm run --silent build; }
say "local stack"
infrastructure/local/stack.sh up
eval "$(infrastructure/local/stack.sh env)"
export SPARK_HOME SPARK_KAFKA_JARS KAFKA_BOOTSTRAP INFLUXDB_URL SENSOR_STREAMING_STAGING
say "runner"
infrastructure/spark/runner/build.sh
say "validate and stage $spec (profile $profile)"
cli validate "$spec" --profile "$profile"
plan=$(cli stage "$spec" --profile "$profile")
infrastructure/local/create-influx-database.sh "$plan"

stop_file="$(dirname "$plan")/STOP"
rm -f "$stop_file"   # a marker left by a crash would stop the new run at once
sim_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap below (shellcheck misses that when the script ends in exit)
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
if $simulate; then
  # Through the stack's ingestion proxy, as real sensors send, when it serves this spec's topic.
  if [ "$spec" = conf/pipeline.yaml ] && curl -fs -o /dev/null "${PROXY_URL:-http://localhost:8090}/health"; then
    say "simulator (${SIMULATE_RATE:-20} readings/s, POSTed to the ingestion proxy at ${PROXY_URL:-http://localhost:8090})"
    node "$root/dist/cli/main.js" simulate --rate "${SIMULATE_RATE:-20}" --to "${PROXY_URL:-http://localhost:8090}" &
  else
    say "simulator (${SIMULATE_RATE:-20} readings/s, straight to Kafka)"
    node "$root/dist/cli/main.js" simulate --rate "${SIMULATE_RATE:-20}" &
  fi
  # node is started directly, not through cli(): a shell function in the background runs in a
  # subshell, $! would be that subshell's pid, and cleanup's kill would leave node running.
  sim_pid=$!
fi

say "running $plan (Ctrl-C stops it gracefully)"
trap 'echo; echo "stopping: the running micro-batch finishes first"; touch "$stop_file"' INT TERM
status=0
# Its own session: Ctrl-C reaches only this script, which asks for a graceful stop.
setsid "$SPARK_HOME/bin/spark-submit" --master 'local[*]' --conf spark.ui.enabled=false \
  --jars "$SPARK_KAFKA_JARS" --class io.sensorstreaming.runner.Runner \
  infrastructure/spark/runner/build/sensor-streaming-runner.jar "$plan" --stop-file "$stop_file" &
spark_pid=$!
while kill -0 "$spark_pid" 2>/dev/null; do status=0; wait "$spark_pid" || status=$?; done
echo "pipeline ended (exit $status); outputs under .local-stack/data, InfluxDB at $INFLUXDB_URL"
exit "$status"
