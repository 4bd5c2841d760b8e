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
start_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap below (shellcheck misses that when the script ends in exit)
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
if $simulate; then
  # Its own session, so the terminal's Ctrl-C does not stop it half way through the pipeline's
  # graceful stop; its lines go to a log, so they do not break up the live view.
  sim_log=.local-stack/logs/simulator.log
  mkdir -p "$(dirname "$sim_log")"
  # Through the stack's ingestion proxy, as real sensors send, when it serves this spec's topic.
  if [ "$spec" = conf/pipeline.yaml ] && curl -fs -o /dev/null "${PROXY_URL:-http://localhost:8090}/health"; then
    say "simulator (${SIMULATE_RATE:-20} readings/s, POSTed to the ingestion proxy at ${PROXY_URL:-http://localhost:8090}; log $sim_log)"
    setsid node "$root/dist/cli/main.js" simulate --rate "${SIMULATE_RATE:-20}" --to "${PROXY_URL:-http://localhost:8090}" >"$sim_log" 2>&1 &
  else
    say "simulator (${SIMULATE_RATE:-20} readings/s, straight to Kafka; log $sim_log)"
    setsid node "$root/dist/cli/main.js" simulate --rate "${SIMULATE_RATE:-20}" >"$sim_log" 2>&1 &
  fi
  # node is started directly, not through cli(): a shell function in the background runs in a
  # subshell, $! would be that subshell's pid, and cleanup's kill would leave node running.
  sim_pid=$!
fi

say "starting $spec through Livy (profile $profile)"
# The terminal's Ctrl-C reaches the CLI itself (this script's process group), which stops the
# pipeline gracefully and then returns; a SIGTERM sent to this script is passed on as Ctrl-C.
# Not supervised: when the demo ends, nothing submits the job again.
node "$root/dist/cli/main.js" start "$spec" --profile "$profile" --foreground --stop-on-interrupt --no-supervise &
start_pid=$!
trap ':' INT
trap 'kill -INT "$start_pid" 2>/dev/null || true' TERM
while kill -0 "$start_pid" 2>/dev/null; do wait "$start_pid" || true; done
status=0
wait "$start_pid" || status=$?
case "$status" in
  0|6|7|9) ;;   # stopped or ended, failed on its own, another run's job (not ours), nothing submitted
  *)
    # Interrupted while starting, timed out, killed: a job may have been submitted; stop means stop.
    say "the start ended with exit $status: stopping what may have been submitted"
    cli stop "$spec" --profile "$profile" || true ;;
esac
echo "pipeline ended (exit $status); outputs under .local-stack/data, InfluxDB at $INFLUXDB_URL"
exit "$status"
