#!/usr/bin/env bash
# Starts the sensor pipeline (conf/pipeline.yaml) as a Spark Structured Streaming job through Livy.
#
# Usage: ./start-spark-streaming.sh [--background | --foreground] [--replace] [--cluster] [--help]
#   --background   return once every streaming query runs (default); prints how to follow and stop
#   --foreground   stay attached and show each query's progress until the job ends (Ctrl-C detaches)
#   --replace      if the pipeline already runs, stop it gracefully first
#   --cluster      on the local stack's cluster mode: HDFS, a Spark standalone master with two
#                  workers, Livy submitting to it, every file on HDFS (profile hdfs); the registry
#                  is uploaded to HDFS first if none is there (later: ./data/upload-data.sh)
#
# Where it runs is chosen by SENSOR_STREAMING_TARGET:
#   local  (default) the no-Docker local stack: infrastructure/local/stack.sh is started if needed
#          (in the mode it was last started in, local unless --cluster), files are staged in
#          .local-stack/staging, Livy at http://localhost:8998
#   docker the Docker Compose cluster (./infrastructure/start-all.sh): files are copied into the
#          Spark master container ($SPARK_MASTER_CONTAINER, default spark-master), under
#          $SENSOR_STREAMING_CONTAINER_STAGING (default /opt/sensor-streaming/staging); Livy at
#          LIVY_URL (default http://localhost:8998), WebHDFS at WEBHDFS_URL (default
#          http://localhost:9870). The local stack's settings in this shell (KAFKA_BOOTSTRAP and
#          the like naming localhost, SPARK_KAFKA_JARS, SENSOR_STREAMING_STAGING) are ignored,
#          with a warning (infrastructure/docker-target-env.sh)
# Other settings: SENSOR_STREAMING_PROFILE (default: local, hdfs in the cluster mode, cluster for
# docker), SENSOR_STREAMING_SPEC (default conf/pipeline.yaml). Exit codes: sensor-streaming start --help.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

mode=--background
extra=()
cluster=0
for arg in "$@"; do
  case "$arg" in
    --background|--foreground) mode=$arg ;;
    --replace) extra+=(--replace) ;;
    --cluster) cluster=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "start-spark-streaming: unknown option $arg (see --help)" >&2; exit 64 ;;
  esac
done

target=${SENSOR_STREAMING_TARGET:-local}
# The local stack stays in the mode it was last brought up in (infrastructure/local/stack.sh up
# goes back to the local mode).
if [ "$target" = local ] && [ "$cluster" = 0 ] && [ "$(infrastructure/local/stack.sh mode)" = cluster ]; then cluster=1; fi
case "$target" in
  local) if [ "$cluster" = 1 ]; then profile=${SENSOR_STREAMING_PROFILE:-hdfs}; else profile=${SENSOR_STREAMING_PROFILE:-local}; fi ;;
  docker) profile=${SENSOR_STREAMING_PROFILE:-cluster} ;;
  *) echo "start-spark-streaming: SENSOR_STREAMING_TARGET must be local or docker, not '$target'" >&2; exit 64 ;;
esac

say() { printf '>> %s\n' "$*"; }

# Built when missing or older than its sources (a build from before a pull lacks what is new).
if [ ! -f dist/cli/main.js ] || [ -n "$(find driver/src -name '*.ts' -newer dist/cli/main.js -print -quit)" ]; then
  say "building the CLI (npm run build)"
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run --silent build
fi

spec=${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml}
if [ "$target" = local ]; then
  if [ "$cluster" = 1 ]; then
    say "local stack, cluster mode (HDFS, Spark standalone with two workers)"
    infrastructure/local/stack.sh up --cluster
  else
    say "local stack"
    infrastructure/local/stack.sh up
  fi
  eval "$(infrastructure/local/stack.sh env)"
  export SPARK_HOME SPARK_KAFKA_JARS LIVY_URL KAFKA_BOOTSTRAP INFLUXDB_URL SENSOR_STREAMING_STAGING
  if [ "$cluster" = 1 ]; then
    export HDFS_URL WEBHDFS_URL SPARK_MASTER_URL
    say "registry (uploaded only if none is there yet; ./data/upload-data.sh replaces it)"
    node dist/cli/main.js registry upload data/registry.csv "$spec" --profile "$profile" --if-missing
  fi
  [ -f infrastructure/spark/runner/build/sensor-streaming-runner.jar ] || infrastructure/spark/runner/build.sh
else
  # The cluster's own settings, not the local stack's (no stack.sh env here).
  # shellcheck source=infrastructure/docker-target-env.sh
  . infrastructure/docker-target-env.sh
  docker_target_env start-spark-streaming
fi

say "starting $spec (target $target, profile $profile, $mode)"
status=0
node dist/cli/main.js start "$spec" --profile "$profile" --target "$target" "$mode" ${extra[@]+"${extra[@]}"} || status=$?
if [ "$status" -ne 0 ]; then
  echo "start-spark-streaming: failed (exit $status); see the message above" >&2
fi
exit "$status"
