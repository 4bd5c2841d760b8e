#!/usr/bin/env bash
# Starts the sensor pipeline (conf/pipeline.yaml) as a Spark Structured Streaming job through Livy.
#
# Usage: ./start-spark-streaming.sh [--background | --foreground] [--replace] [--help]
#   --background   return once every streaming query runs (default); prints how to follow and stop
#   --foreground   stay attached and show each query's progress until the job ends (Ctrl-C detaches)
#   --replace      if the pipeline already runs, stop it gracefully first
#
# Where it runs is chosen by SENSOR_STREAMING_TARGET:
#   local  (default) the no-Docker local stack: infrastructure/local/stack.sh is started if needed,
#          files are staged in .local-stack/staging, Livy at http://localhost:8998
#   docker the Docker Compose cluster: files are copied into the Spark master container
#          ($SPARK_MASTER_CONTAINER, default spark-master) and LIVY_URL must point at its Livy
# Other settings: SENSOR_STREAMING_PROFILE (default: local or cluster, after the target),
# SENSOR_STREAMING_SPEC (default conf/pipeline.yaml). Exit codes: see `sensor-streaming start --help`.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

mode=--background
extra=()
for arg in "$@"; do
  case "$arg" in
    --background|--foreground) mode=$arg ;;
    --replace) extra+=(--replace) ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "start-spark-streaming: unknown option $arg (see --help)" >&2; exit 64 ;;
  esac
done

target=${SENSOR_STREAMING_TARGET:-local}
case "$target" in
  local) profile=${SENSOR_STREAMING_PROFILE:-local} ;;
  docker) profile=${SENSOR_STREAMING_PROFILE:-cluster} ;;
  *) echo "start-spark-streaming: SENSOR_STREAMING_TARGET must be local or docker, not '$target'" >&2; exit 64 ;;
esac

say() { printf '>> %s\n' "$*"; }

if [ ! -f dist/cli/main.js ]; then
  say "building the CLI (npm run build)"
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run --silent build
fi

if [ "$target" = local ]; then
  say "local stack"
  infrastructure/local/stack.sh up
  eval "$(infrastructure/local/stack.sh env)"
  export SPARK_HOME SPARK_KAFKA_JARS LIVY_URL KAFKA_BOOTSTRAP INFLUXDB_URL SENSOR_STREAMING_STAGING
  [ -f infrastructure/spark/runner/build/sensor-streaming-runner.jar ] || infrastructure/spark/runner/build.sh
fi

say "starting ${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml} (target $target, profile $profile, $mode)"
status=0
node dist/cli/main.js start "${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml}" --profile "$profile" --target "$target" "$mode" ${extra[@]+"${extra[@]}"} || status=$?
if [ "$status" -ne 0 ]; then
  echo "start-spark-streaming: failed (exit $status); see the message above" >&2
fi
exit "$status"
