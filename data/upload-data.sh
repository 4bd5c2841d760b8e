#!/usr/bin/env bash
# Uploads the sensor registry to where the pipeline reads it (registry.path of the spec), after
# checking it: UTF-8, the header names the spec's key and columns, every row complete, no device
# without a key or listed twice. Every problem is printed with its line, and nothing is written
# then (exit 12). The file is replaced in one step, and the devices added, removed and changed are
# printed; the pipeline picks the new registry up without a restart.
#
# Usage: ./data/upload-data.sh [CSV] [--dry-run] [more options of `sensor-streaming registry upload`]
#   CSV        the registry to upload (default: data/registry.csv)
#   --dry-run  check it and print what would change; write nothing
# The spec and profile are the ones ./start-spark-streaming.sh uses: SENSOR_STREAMING_SPEC
# (default conf/pipeline.yaml), SENSOR_STREAMING_PROFILE (default: local, hdfs when the local
# stack runs in its cluster mode, cluster when SENSOR_STREAMING_TARGET=docker); --profile NAME
# overrides. An hdfs:// registry is written through
# WebHDFS: WEBHDFS_URL (default http://<NameNode host>:9870, and http://localhost:9870 when
# SENSOR_STREAMING_TARGET=docker), as HADOOP_USER_NAME. For the docker target the local stack's
# settings in this shell (REGISTRY_PATH and the like naming localhost) are ignored, with a warning.
set -euo pipefail
caller=$PWD
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

case "${1:-}" in
  -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
esac

csv=data/registry.csv
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  csv=$1
  shift
  # A CSV named relative to where the script was called from, not to the repository.
  case "$csv" in /*) ;; *) [ "$caller" = "$root" ] || csv="$caller/$csv" ;; esac
fi

target=${SENSOR_STREAMING_TARGET:-local}
case "$target" in
  local) if [ "$(infrastructure/local/stack.sh mode)" = cluster ]; then profile=${SENSOR_STREAMING_PROFILE:-hdfs}; else profile=${SENSOR_STREAMING_PROFILE:-local}; fi ;;
  docker) profile=${SENSOR_STREAMING_PROFILE:-cluster} ;;
  *) echo "upload-data: SENSOR_STREAMING_TARGET must be local or docker, not '$target'" >&2; exit 64 ;;
esac
if [ "$target" = docker ]; then
  # shellcheck source=infrastructure/docker-target-env.sh
  . infrastructure/docker-target-env.sh
  docker_target_env upload-data
fi

# The built CLI when it is at least as new as the sources, else the sources through tsx: a build
# from before the registry commands existed must not run instead of them.
if [ -f dist/cli/main.js ] && [ -z "$(find driver/src -name '*.ts' -newer dist/cli/main.js -print -quit 2>/dev/null)" ]; then
  cli=(node dist/cli/main.js)
else
  [ -d node_modules ] || npm ci --no-audit --no-fund
  cli=(npx --no-install tsx driver/src/cli/main.ts)
fi

# A --profile among the extra options comes later and wins.
exec "${cli[@]}" registry upload "$csv" "${SENSOR_STREAMING_SPEC:-conf/pipeline.yaml}" --profile "$profile" "$@"
