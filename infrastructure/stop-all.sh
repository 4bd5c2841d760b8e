#!/usr/bin/env bash
# Stops the production cluster started by ./infrastructure/start-all.sh.
#
# Usage: ./infrastructure/stop-all.sh [--volumes] [--help]
#   --volumes  also delete the cluster's data (HDFS, Kafka, InfluxDB, Grafana, the staging
#              volume); the secrets and settings in infrastructure/.env are kept and reused
# Stop the streaming job first so that it ends between micro-batches:
#   SENSOR_STREAMING_TARGET=docker ./stop-spark-streaming.sh
# (a job stopped with the cluster resumes from its checkpoints on the next start anyway).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
compose_file=$here/docker-compose.yml
# The project start-all.sh starts, whatever COMPOSE_PROJECT_NAME the caller's environment holds.
project=sensor-streaming
env_file=$here/.env

down_args=(--remove-orphans)
for arg in "$@"; do
  case "$arg" in
    --volumes) down_args+=(--volumes) ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "stop-all: unknown option $arg (see --help)" >&2; exit 64 ;;
  esac
done

die() { printf 'stop-all: %s\n' "$*" >&2; exit 1; }
command -v docker >/dev/null 2>&1 ||
  die "docker is not installed, so no Docker Compose cluster runs here (the local stack stops with: infrastructure/local/stack.sh down)"
# shellcheck source=infrastructure/compose-version.sh
. "$here/compose-version.sh"
require_compose

# 'down' reads the compose files, which require these. Compose takes them from
# infrastructure/.env by itself; without it nothing was generated, so there is no secret to keep,
# only the files to parse.
for name in INFLUXDB_ADMIN_PASSWORD INFLUXDB_TOKEN GRAFANA_ADMIN_PASSWORD PROXY_TOKENS; do
  if [ -z "${!name:-}" ] && ! grep -q "^$name=." "$env_file" 2>/dev/null; then export "$name=unset"; fi
done

docker compose -p "$project" --project-directory "$here" -f "$compose_file" down "${down_args[@]}"
echo ">> the cluster is stopped$(case " ${down_args[*]} " in *" --volumes "*) echo " and its data deleted" ;; esac)"
