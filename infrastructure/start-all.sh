#!/usr/bin/env bash
# Starts the production cluster on Docker Compose (infrastructure/docker-compose.yml): HDFS, Kafka,
# InfluxDB 2, Spark (a master and a worker) with Livy 0.9.0, Grafana and the ingestion proxy.
#
# Usage: ./infrastructure/start-all.sh [--no-build] [--help]
#   --no-build   start with the Livy and proxy images already built (default: build them first)
#
# On the first run it generates the secrets (InfluxDB admin password and token, Grafana admin
# password, the proxy's bearer token) into infrastructure/.env (mode 0600, git-ignored), beside
# the settings below. Compose reads that file by itself for this project, so an operator's own
# `docker compose -f infrastructure/docker-compose.yml ps|logs|exec ...` sees what this script
# used. Later runs reuse the secrets; an infrastructure/.secrets.env left by an earlier version is
# moved into .env, values unchanged. It then builds the images, starts every service in dependency
# order, waits until each is healthy (START_TIMEOUT seconds, default 900), copies the runner jar
# out of the Livy image when the host's differs, and prints the URLs and the next commands.
# Settings, taken from the environment, else from infrastructure/.env, else the default, and
# written to infrastructure/.env: GRAFANA_PORT (3000) and PROXY_PORT (8090), the two ports
# published beyond this machine; KAFKA_TOPIC (live-data), KAFKA_TOPIC_PARTITIONS (3);
# SPARK_WORKER_CORES (2), SPARK_WORKER_MEMORY (2g); SPARK_MASTER_CONTAINER (spark-master), the
# Spark master container's name (the CLI's docker target needs the same in its environment).
# Needs Docker Engine with the Compose plugin 2.23 or later: include: arrived in 2.20, but before
# 2.23 (compose-go 1.20) Compose refuses the network that every included file declares alike.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
compose_file=$here/docker-compose.yml
# Given on every command, so that a COMPOSE_PROJECT_NAME in the caller's environment cannot point
# this script (and the volume names it checks) at another project; the same as name: in the file.
project=sensor-streaming
env_file=$here/.env
legacy_secrets=$here/.secrets.env
runner_jar=$root/infrastructure/spark/runner/build/sensor-streaming-runner.jar
image_runner_jar=/opt/sensor-streaming/runner/sensor-streaming-runner.jar

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "start-all: unknown option $arg (see --help)" >&2; exit 64 ;;
  esac
done

say() { printf '>> %s\n' "$*"; }
die() { printf 'start-all: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 ||
  die "docker is not installed. Install Docker Engine and its Compose plugin (https://docs.docker.com/engine/install/), or run the pipeline without Docker: infrastructure/local/stack.sh up --cluster"
# shellcheck source=infrastructure/compose-version.sh
. "$here/compose-version.sh"
require_compose
docker info >/dev/null 2>&1 ||
  die "cannot reach the Docker engine ('docker info' failed): is the daemon running, and may $(id -un) use it (the docker group)?"

compose() { docker compose -p "$project" --project-directory "$here" -f "$compose_file" "$@"; }

# ---- infrastructure/.env: the secrets and the settings, read by Compose itself ----------------
secret_names=(INFLUXDB_ADMIN_PASSWORD INFLUXDB_TOKEN GRAFANA_ADMIN_PASSWORD PROXY_TOKENS)
settings=(GRAFANA_PORT=3000 PROXY_PORT=8090 KAFKA_TOPIC=live-data KAFKA_TOPIC_PARTITIONS=3 SPARK_WORKER_CORES=2 SPARK_WORKER_MEMORY=2g SPARK_MASTER_CONTAINER=spark-master)
setting_names=("${settings[@]%%=*}")
declare -A values=() legacy=()
kept_lines=()   # lines of .env that are not this script's: kept as they are

# 24 random bytes as hex: no character that needs quoting in an env file or a URL.
random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
is_managed() { case " ${secret_names[*]} ${setting_names[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# The named volume a secret was initialised into, if any: a new value would not reach it.
volume_of() { case "$1" in INFLUXDB_*) echo influxdb-data ;; GRAFANA_*) echo grafana-data ;; esac; }

# Read as KEY=VALUE lines, never executed. The values this script writes need no quoting.
read_env_file() { # FILE values|legacy: this script's keys into that array; other lines of .env kept
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '# start-all.sh:'*|'') continue ;; esac
    if [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] && is_managed "${BASH_REMATCH[1]}"; then
      key=${BASH_REMATCH[1]}
      if [ "$2" = values ]; then values[$key]=${BASH_REMATCH[2]}; else legacy[$key]=${BASH_REMATCH[2]}; fi
    elif [ "$2" = values ]; then
      kept_lines+=("$line")
    fi
  done <"$1"
}

if [ -f "$env_file" ]; then read_env_file "$env_file" values; fi
migrated=0
if [ -f "$legacy_secrets" ]; then
  read_env_file "$legacy_secrets" legacy
  for name in "${secret_names[@]}"; do
    [ -n "${legacy[$name]:-}" ] || continue
    if [ -n "${values[$name]:-}" ] && [ "${values[$name]}" != "${legacy[$name]}" ]; then
      die "$env_file and $legacy_secrets (of an earlier version) hold different values of $name: keep the one the cluster was initialised with in $env_file and delete $legacy_secrets"
    fi
    values[$name]=${legacy[$name]}
  done
  migrated=1
fi

generated=()
for name in "${secret_names[@]}"; do
  [ -z "${values[$name]:-}" ] || continue
  # InfluxDB and Grafana take their password and token only when their volume is new; new
  # secrets against an old volume would lock the pipeline and the operator out.
  volume=$(volume_of "$name")
  if [ -n "$volume" ] && docker volume inspect "${project}_$volume" >/dev/null 2>&1; then
    die "$env_file holds no $name but its volume ${project}_$volume exists, initialised with the old value. Restore the line $name=... (from a backup of $env_file, or $legacy_secrets of an earlier version), or delete the cluster's data: ./infrastructure/stop-all.sh --volumes"
  fi
  values[$name]=$(random_secret)
  generated+=("$name")
done
for entry in "${settings[@]}"; do
  name=${entry%%=*}
  if [ -n "${!name:-}" ]; then values[$name]=${!name}; elif [ -z "${values[$name]:-}" ]; then values[$name]=${entry#*=}; fi
done
for name in "${secret_names[@]}" "${setting_names[@]}"; do
  # Compose's .env reader would change a value with blanks, quotes, #, $ or a backslash.
  [[ "${values[$name]}" =~ ^[A-Za-z0-9._:@/+,=%~-]+$ ]] ||
    die "$name (in $env_file or the environment) holds a character Compose's .env would read differently (blank, quote, #, \$, backslash): use letters, digits and . _ : @ / + , = % ~ - only"
done

if [ ${#generated[@]} -gt 0 ]; then say "generating ${generated[*]} into ${env_file#"$root"/} (mode 0600, git-ignored)"; fi
# Written whole and moved into place, in a subshell: the umask covers this file only, not what
# the rest of this script creates (the runner jar).
(
  umask 077
  tmp=$(mktemp "$env_file.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  {
    echo "# start-all.sh: written by infrastructure/start-all.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); docker compose reads it for infrastructure/docker-compose.yml."
    echo "# start-all.sh: secrets, generated once (InfluxDB and Grafana take them only on new volumes). Secret: do not commit or share."
    for name in "${secret_names[@]}"; do printf '%s=%s\n' "$name" "${values[$name]}"; done
    echo "# start-all.sh: settings; start-all.sh takes a variable of its environment over these and writes it here."
    for name in "${setting_names[@]}"; do printf '%s=%s\n' "$name" "${values[$name]}"; done
    if [ ${#kept_lines[@]} -gt 0 ]; then printf '%s\n' "${kept_lines[@]}"; fi
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$env_file"
)
if [ "$migrated" = 1 ]; then
  rm -f "$legacy_secrets"
  say "moved the secrets of ${legacy_secrets#"$root"/} (an earlier version's file) into ${env_file#"$root"/}, values unchanged"
fi
# Exported too: for Compose a variable of the environment wins over .env, so a stale one in the
# caller's shell must not replace what was just written.
for name in "${secret_names[@]}" "${setting_names[@]}"; do export "$name=${values[$name]}"; done

if [ "$build" = 1 ]; then
  say "building the Livy image (Livy 0.9.0, Kafka connector, runner) and the proxy image"
  compose build livy proxy
fi

say "starting the cluster and waiting until every service is healthy"
if ! compose up -d --wait --wait-timeout "${START_TIMEOUT:-900}"; then
  compose ps -a >&2 || true
  die "not every service became healthy; see the one that is not: docker compose -f $compose_file logs SERVICE"
fi

# The CLI stages this jar into the cluster with each job; a machine without Spark cannot build it,
# so it takes the one the Livy image built from this checkout's runner sources, against the
# cluster's Spark. Copied whenever the two differ, not only when the host has none: after an
# upgrade the host's jar would otherwise be the old runner, staged with every new job.
image_sum=$(compose exec -T livy sha256sum "$image_runner_jar" | cut -d' ' -f1) ||
  die "cannot read the runner jar in the livy container ($image_runner_jar)"
host_sum=
if [ -f "$runner_jar" ]; then host_sum=$(sha256sum "$runner_jar" | cut -d' ' -f1); fi
if [ "$image_sum" != "$host_sum" ]; then
  mkdir -p "$(dirname "$runner_jar")"
  partial=$runner_jar.from-image.$$
  trap 'rm -f "$partial"' EXIT
  compose cp "livy:$image_runner_jar" "$partial"
  [ "$(sha256sum "$partial" | cut -d' ' -f1)" = "$image_sum" ] || die "the runner jar copied from the livy container does not match its checksum there"
  mv -f "$partial" "$runner_jar"
  trap - EXIT
  if [ -n "$host_sum" ]; then
    say "runner jar ${runner_jar#"$root"/} replaced by the Livy image's (it differed)"
  else
    say "runner jar copied from the Livy image to ${runner_jar#"$root"/}"
  fi
fi

env_shown=${env_file#"$root"/}
host=$(hostname -f 2>/dev/null || hostname)
cat <<MSG

The cluster runs. Published beyond this machine:
  Grafana         http://$host:${GRAFANA_PORT}   (user admin, GRAFANA_ADMIN_PASSWORD in $env_shown)
  ingestion proxy http://$host:${PROXY_PORT}/stream   (Authorization: Bearer <PROXY_TOKENS in $env_shown>)
On this machine only:
  Livy            http://localhost:8998
  Spark UI        http://localhost:8080 (worker http://localhost:8081)
  HDFS (WebHDFS)  http://localhost:9870
  InfluxDB        http://localhost:8086   (org schools, bucket sensors, INFLUXDB_TOKEN in $env_shown)
Compose commands of your own read $env_shown too: docker compose -f $compose_file ps

Next (the scripts take WEBHDFS_URL=http://localhost:9870 for the docker target):
  SENSOR_STREAMING_TARGET=docker ./data/upload-data.sh
  SENSOR_STREAMING_TARGET=docker ./start-spark-streaming.sh
MSG
if [ "$SPARK_MASTER_CONTAINER" != spark-master ]; then
  cat <<MSG
The Spark master container is named $SPARK_MASTER_CONTAINER: export SPARK_MASTER_CONTAINER=$SPARK_MASTER_CONTAINER
for those commands too (the docker target copies each job's files into it).
MSG
fi
if ! getent hosts datanode >/dev/null 2>&1; then
  cat <<MSG
The CLI reaches HDFS through WebHDFS, which hands file data to the DataNode by its name: uploading
the registry, and the checkpoint-compatibility records that start reads and writes beside each
checkpoint, need "127.0.0.1 datanode" in /etc/hosts on this machine. Add it first.
MSG
fi
