#!/usr/bin/env bash
# Runs the pipeline on the local stack the way operators run it, through Livy, and shows it live:
# starts the stack (installing it on first use), builds the CLI and the runner, validates the
# spec, optionally starts the simulator, then `sensor-streaming start --foreground`: the spec is
# compiled, staged and submitted as a Livy batch, and the terminal shows each query's rows/s,
# batch time, watermark, state rows and last InfluxDB write (Spark's own log stays in Livy:
# `sensor-streaming logs`). Ctrl-C stops the pipeline gracefully (the running micro-batch
# finishes, checkpoints stay consistent, the next run resumes where this one stopped).
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
say "validate $spec (profile $profile)"
cli validate "$spec" --profile "$profile"

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

say "starting $spec through Livy (profile $profile)"
status=0
# Ctrl-C reaches the CLI, which stops the pipeline gracefully and then returns; this script goes
# on to its end (the simulator, started in the background, ignores Ctrl-C and is ended on exit).
cli start "$spec" --profile "$profile" --foreground --stop-on-interrupt || status=$?
if [ "$status" -eq 130 ]; then
  # Ctrl-C while starting: a job may have been submitted already; stop means stop.
  say "interrupted while starting: stopping what was submitted"
  cli stop "$spec" --profile "$profile" || true
fi
echo "pipeline ended (exit $status); outputs under .local-stack/data, InfluxDB at $INFLUXDB_URL"
exit "$status"
