# shellcheck shell=bash
# Sourced (not run) by ./start-spark-streaming.sh, ./stop-spark-streaming.sh and
# ./data/upload-data.sh when SENSOR_STREAMING_TARGET=docker: the environment of the CLI for the
# Docker Compose cluster (./infrastructure/start-all.sh).
#
# The cluster profile (conf/profiles/cluster.yaml) names the services as the Spark driver in the
# livy container reaches them (kafka:9092, http://influxdb:8086, hdfs://namenode:9000), and each
# can be overridden by a variable. A shell that ran `eval "$(infrastructure/local/stack.sh env)"`
# holds the local stack's values in some of them, and in the containers localhost is the container
# itself. So, for this target:
# - a variable of the profile that names localhost (KAFKA_BOOTSTRAP, INFLUXDB_URL, REGISTRY_PATH,
#   CHECKPOINT_DIR, RAW_PATH, REJECTED_PATH, INFLUX_REFUSED_PATH) is unset, with a warning, so the
#   profile's default applies; one naming another host is kept (an operator's own choice);
# - SPARK_KAFKA_JARS (jars on this machine; the Livy image lists the connector itself) and
#   SENSOR_STREAMING_STAGING (the local stack's folder; the folder in the container is
#   SENSOR_STREAMING_CONTAINER_STAGING) are unset, with a warning;
# - WEBHDFS_URL defaults to http://localhost:9870, the NameNode's port the cluster publishes on
#   this machine (the CLI writes stop markers and reads the checkpoints' records through it).
# LIVY_URL keeps the CLI's default, http://localhost:8998, where the cluster publishes Livy.

docker_target_env() { # SCRIPT-NAME (for the warnings)
  local name local_hosts=() host_files=()
  for name in KAFKA_BOOTSTRAP INFLUXDB_URL REGISTRY_PATH CHECKPOINT_DIR RAW_PATH REJECTED_PATH INFLUX_REFUSED_PATH; do
    case "${!name:-}" in
      *localhost*|*127.0.0.1*|*'[::1]'*) local_hosts+=("$name"); unset "$name" ;;
    esac
  done
  for name in SPARK_KAFKA_JARS SENSOR_STREAMING_STAGING; do
    if [ -n "${!name:-}" ]; then host_files+=("$name"); unset "$name"; fi
  done
  if [ ${#local_hosts[@]} -gt 0 ]; then
    printf "%s: warning: SENSOR_STREAMING_TARGET=docker ignores %s: set in this shell (by eval \"\$(infrastructure/local/stack.sh env)\"?) to localhost, which inside the cluster's containers is the container itself; conf/profiles/cluster.yaml's defaults apply (to override one, name another host)\n" \
      "$1" "${local_hosts[*]}" >&2
  fi
  if [ ${#host_files[@]} -gt 0 ]; then
    printf '%s: warning: SENSOR_STREAMING_TARGET=docker ignores %s: files of this machine (the local stack'"'"'s), not of the cluster (the Livy image has the Kafka connector; the folder in the container is SENSOR_STREAMING_CONTAINER_STAGING)\n' \
      "$1" "${host_files[*]}" >&2
  fi
  export WEBHDFS_URL="${WEBHDFS_URL:-http://localhost:9870}"
}
