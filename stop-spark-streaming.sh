#!/usr/bin/env bash
# Stops the sensor pipeline gracefully: the runner's stop marker lets each streaming query finish
# its running micro-batch; after --timeout seconds (default 120) the Livy batch is deleted.
# Safe to run twice. The local stack keeps running (infrastructure/local/stack.sh down stops it).
#
# Usage: ./stop-spark-streaming.sh [--timeout SECONDS] [--help]
# Uses the same SENSOR_STREAMING_TARGET / SENSOR_STREAMING_PROFILE / SENSOR_STREAMING_SPEC as
# ./start-spark-streaming.sh (profile hdfs when the local stack is in its cluster mode); for the
# docker target the same environment as there (WEBHDFS_URL default http://localhost:9870, the
# local stack's settings ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

timeout=120
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "stop-spark-streaming: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

target=${SENSOR_STREAMING_TARGET:-local}
case "$target" in
  local) if [ "$(infrastructure/local/stack.sh mode)" = cluster ]; then profile=${SENSOR_STREAMING_PROFILE:-hdfs}; else profile=${SENSOR_STREAMING_PROFILE:-local}; fi ;;
  docker) profile=${SENSOR_STREAMING_PROFILE:-cluster} ;;
  *) echo "stop-spark-streaming: SENSOR_STREAMING_TARGET must be local or docker, not '$target'" >&2; exit 64 ;;
esac
[ -f dist/cli/main.js ] || { echo "stop-spark-streaming: the CLI is not built (npm ci && npm run build)" >&2; exit 1; }
if [ "$target" = local ] && infrastructure/local/stack.sh env >/dev/null 2>&1; then
  eval "$(infrastructure/local/stack.sh env)"
  export LIVY_URL SENSOR_STREAMING_STAGING
  # the cluster mode's stop marker is on HDFS
  if [ -n "${WEBHDFS_URL:-}" ]; then export WEBHDFS_URL; fi
elif [ "$target" = docker ]; then
  # shellcheck source=infrastructure/docker-target-env.sh
  . infrastructure/docker-target-env.sh
  docker_target_env stop-spark-streaming
fi

echo ">> stopping ${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml} (target $target)"
status=0
node dist/cli/main.js stop "${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml}" --profile "$profile" --target "$target" --timeout "$timeout" || status=$?
[ "$status" -eq 0 ] || echo "stop-spark-streaming: failed (exit $status); see the message above" >&2
exit "$status"
