#!/usr/bin/env bash
# Local, Docker-free stack for the sensor streaming pipeline.
#
# Runs Kafka (KRaft, single node), Apache Livy (Spark master local[*]) and InfluxDB 1.x as
# plain background processes. `up --cluster` adds the distributed topology the pipeline is
# built for, still as plain processes: HDFS (NameNode + DataNode), a Spark standalone master
# with two workers, and Livy submitting to that master instead of local[*]. Everything downloaded lives in one git-ignored cache folder;
# everything a run writes lives in one git-ignored runtime folder. See README.md beside this
# file for versions, ports, variables and folders.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

CACHE="$(abspath "${SENSOR_STREAMING_CACHE:-$REPO_ROOT/.stack-cache}")"
RUNTIME="$(abspath "${SENSOR_STREAMING_RUNTIME:-$REPO_ROOT/.local-stack}")"
STAGING="$(abspath "${SENSOR_STREAMING_STAGING:-$RUNTIME/staging}")"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
LIVY_PORT="${LIVY_PORT:-8998}"
INFLUXDB_PORT="${INFLUXDB_PORT:-8086}"
INFLUXDB_RPC_PORT="${INFLUXDB_RPC_PORT:-8088}"
PROXY_PORT="${PROXY_PORT:-8090}"
HDFS_NAMENODE_PORT="${HDFS_NAMENODE_PORT:-9000}"
HDFS_HTTP_PORT="${HDFS_HTTP_PORT:-9870}"
HDFS_DATANODE_PORT="${HDFS_DATANODE_PORT:-9866}"
HDFS_DATANODE_HTTP_PORT="${HDFS_DATANODE_HTTP_PORT:-9864}"
HDFS_DATANODE_IPC_PORT="${HDFS_DATANODE_IPC_PORT:-9867}"
SPARK_MASTER_PORT="${SPARK_MASTER_PORT:-7077}"
SPARK_MASTER_WEBUI_PORT="${SPARK_MASTER_WEBUI_PORT:-8080}"
SPARK_WORKER_WEBUI_PORT="${SPARK_WORKER_WEBUI_PORT:-8081}"   # worker N uses this + N - 1
SPARK_WORKER_CORES="${SPARK_WORKER_CORES:-1}"
SPARK_WORKER_MEMORY="${SPARK_WORKER_MEMORY:-1g}"
WAIT_TIMEOUT="${STACK_WAIT_TIMEOUT:-120}"
STOP_TIMEOUT="${STACK_STOP_TIMEOUT:-20}"
BIND_HOST=127.0.0.1
FORCE=0 # up --force

# ---- pinned versions -------------------------------------------------------------------
# Spark: the newest 3.5 patch for which the registry serves BOTH pyspark and
# spark-sql-kafka-0-10_2.12 (pyspark 3.5.8/3.5.9 exist, their Kafka connector is not served).
SPARK_VERSION=3.5.7
SPARK_SCALA=2.12
KAFKA_VERSION=3.9.2
KAFKA_SCALA=2.13
SLF4J_VERSION=1.7.36          # the slf4j-api line Kafka 3.9 is built against
RELOAD4J_VERSION=1.2.25
# Livy 0.8/0.9 are not served by the Maven registry reachable here; 0.7.1 is, and its server
# runs Spark 3.5 batches (it only warns about the Spark version). LIVY_DIST overrides it.
LIVY_VERSION=0.7.1-incubating
DEPENDENCY_PLUGIN=3.6.1
# HDFS daemons from Hadoop's own jars: the version of the Hadoop client Spark 3.5 ships.
HADOOP_VERSION=3.3.4

JAVA_BIN="${JAVA_HOME:+$JAVA_HOME/bin/}java"
MVN_BIN="${MVN:-mvn}"
PYTHON_BIN="${PYTHON:-python3}"
INFLUXD_BIN="${INFLUXD:-influxd}"
NODE_BIN="${NODE:-node}"

# The services of each mode, in start order. The cluster mode's Livy submits to the standalone
# master; the local mode's to local[*].
LOCAL_SERVICES=(kafka livy influxdb proxy)
CLUSTER_SERVICES=(kafka influxdb proxy hdfs-namenode hdfs-datanode spark-master spark-worker-1 spark-worker-2 livy)
ALL_SERVICES=(kafka livy influxdb proxy hdfs-namenode hdfs-datanode spark-master spark-worker-1 spark-worker-2)

# ---- small helpers ---------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
warn() { printf 'stack.sh: warning: %s\n' "$*" >&2; }
die() { printf 'stack.sh: error: %s\n' "$*" >&2; exit 1; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"; }

usage() {
  cat <<EOF
Usage: infrastructure/local/stack.sh COMMAND

Local stack without Docker: Kafka $KAFKA_VERSION (KRaft), Livy $LIVY_VERSION with Spark
$SPARK_VERSION (pyspark, master local[*]), InfluxDB 1.x and the ingestion proxy (this
repository's CLI, once built: POST readings to http://localhost:$PROXY_PORT/stream), as plain
processes. The cluster
mode adds HDFS $HADOOP_VERSION (NameNode, DataNode), a Spark standalone master with two
workers, and points Livy at that master.

Commands:
  setup [--cluster]
            download/install everything into the cache folder (idempotent, warm run: seconds);
            --cluster: also the HDFS daemons of the cluster mode (52 MB; up --cluster does it)
  up        setup (if needed), then start kafka, livy, influxdb and wait until they are healthy
  up --cluster [--force]
            the same plus hdfs-namenode, hdfs-datanode, spark-master, spark-worker-1 and
            spark-worker-2 ($SPARK_WORKER_CORES core, $SPARK_WORKER_MEMORY each); Livy submits to
            spark://$BIND_HOST:$SPARK_MASTER_PORT. A Livy of the other mode is restarted (refused
            while it runs jobs, unless --force). Files written to HDFS survive 'down' and 'up'.
  down      stop every service of either mode (SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s)
  start SERVICE...   start these services only and wait until healthy
  stop SERVICE...    stop these services only, e.g. to see the pipeline ride out an outage
                     (services: ${ALL_SERVICES[*]})
  status    one line per service of the current mode (and any other still running): running/
            stopped, pid, port, health (exit 0 = all healthy)
  env       print export lines for SPARK_HOME, SPARK_KAFKA_JARS, LIVY_URL, KAFKA_BOOTSTRAP,
            INFLUXDB_URL, SENSOR_STREAMING_STAGING, and in the cluster mode HDFS_URL,
            WEBHDFS_URL, SPARK_MASTER_URL:  eval "\$(infrastructure/local/stack.sh env)"
  mode      print the mode of the last 'up': local or cluster
  kafka-class CLASS [ARGS...]
            run a Kafka tool class with the broker's classpath, e.g.
            kafka-class org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:$KAFKA_PORT --list
  help      this text

Environment (defaults in brackets):
  SENSOR_STREAMING_CACHE    downloads            [<repo>/.stack-cache]
  SENSOR_STREAMING_RUNTIME  pids, logs, data     [<repo>/.local-stack]
  SENSOR_STREAMING_STAGING  Livy's allowed local dir for batch files [<runtime>/staging]
  KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [9093]  LIVY_PORT [8998]
  INFLUXDB_PORT [8086]  INFLUXDB_RPC_PORT [8088]  PROXY_PORT [8090]
  HDFS_NAMENODE_PORT [9000]  HDFS_HTTP_PORT [9870] (WebHDFS)  HDFS_DATANODE_PORT [9866]
  HDFS_DATANODE_HTTP_PORT [9864]  HDFS_DATANODE_IPC_PORT [9867]
  SPARK_MASTER_PORT [7077]  SPARK_MASTER_WEBUI_PORT [8080]  SPARK_WORKER_WEBUI_PORT [8081, +1 per worker]
  SPARK_WORKER_CORES [1]  SPARK_WORKER_MEMORY [1g]
  STACK_WAIT_TIMEOUT [120] seconds per health wait   STACK_STOP_TIMEOUT [20]
  JAVA_HOME, MVN, PYTHON, INFLUXD, NODE   tools to use (java, mvn, python3, influxd, node from PATH)
  LIVY_DIST                 an unpacked Livy binary distribution to use instead of the
                            Maven artifacts (its jars/ folder is put on the classpath)
Current: cache=$CACHE
         runtime=$RUNTIME
EOF
}

port_open() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }

# ---- cache layout ----------------------------------------------------------------------
MARKERS="$CACHE/markers"
VENV="$CACHE/venv"
SPARK_KAFKA_DIR="$CACHE/jars/spark-kafka"
KAFKA_LIBS="$CACHE/kafka/libs"
LIVY_JARS="$CACHE/livy/jars"
HADOOP_LIBS="$CACHE/hadoop/libs"
M2="$CACHE/m2"

marker_ok() { [[ -f "$MARKERS/$1" && "$(<"$MARKERS/$1")" == "$2" ]]; }
marker_set() { mkdir -p "$MARKERS"; printf '%s\n' "$2" >"$MARKERS/$1"; }

spark_home() {
  [[ -f "$MARKERS/spark.home" ]] || return 1
  local h; h="$(<"$MARKERS/spark.home")"
  [[ -x "$h/bin/spark-submit" ]] || return 1
  printf '%s\n' "$h"
}

livy_jars_dir() {
  if [[ -n "${LIVY_DIST:-}" ]]; then printf '%s\n' "$(abspath "$LIVY_DIST")/jars"; else printf '%s\n' "$LIVY_JARS"; fi
}

spark_kafka_jars() { # comma-separated absolute paths
  local jars=("$SPARK_KAFKA_DIR"/*.jar)
  [[ -e "${jars[0]}" ]] || return 1
  local IFS=,; printf '%s\n' "${jars[*]}"
}

check_java() {
  command -v "$JAVA_BIN" >/dev/null 2>&1 || die "java not found (need Java 17: apt-get install -y openjdk-17-jdk-headless, or set JAVA_HOME)"
  local v
  v="$("$JAVA_BIN" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1)"
  if [[ "$v" != 17 ]]; then
    warn "java major version is '${v:-unknown}'; Spark 3.5 is tested here with Java 17 (newer Java is not supported by Spark 3.5)"
  fi
}

# Run maven on a generated pom, copy the resolved jars into $3. Prints one line per
# downloaded jar; the full maven output goes to $CACHE/logs/mvn-$1.log.
mvn_copy() {
  local name="$1" pomdir="$2" out="$3"; shift 3
  need_cmd "$MVN_BIN" "Install Maven (apt-get install -y maven) or set MVN."
  mkdir -p "$CACHE/logs" "$M2"
  local log="$CACHE/logs/mvn-$name.log" tmp="$out.tmp"
  rm -rf "$tmp"
  local rc=0
  "$MVN_BIN" -B -Dstyle.color=never -f "$pomdir/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime "$@" 2>&1 \
    | tee "$log" \
    | awk -v n="$name" '/Downloaded from/ && /\.jar / {
        f = $0; sub(/ \(.*/, "", f); sub(/.*\//, "", f);
        s = $0; sub(/.*\(/, "", s); sub(/ at .*/, "", s); sub(/\)$/, "", s);
        printf "  %s: downloaded %s (%s)\n", n, f, s; fflush() }' || rc=$?
  if [[ $rc -ne 0 ]] || ! grep -q 'BUILD SUCCESS' "$log"; then
    say "  $name: maven failed; last lines of $log:"
    tail -n 30 "$log" | sed 's/^/    /'
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$out"; mv "$tmp" "$out"
}

write_pom() { # dir artifactId dependencies-xml
  mkdir -p "$1"
  cat >"$1/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by infrastructure/local/stack.sh; only used to download jars -->
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sensor-streaming.stack</groupId>
  <artifactId>$2</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$3
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
}

# ---- setup: one function per component ---------------------------------------------------
setup_spark() {
  local spec="pyspark==$SPARK_VERSION" home
  if marker_ok spark "$spec" && home="$(spark_home)"; then
    say "spark: cached (pyspark $SPARK_VERSION, SPARK_HOME=$home)"; return 0
  fi
  need_cmd "$PYTHON_BIN" "Install Python 3 (apt-get install -y python3 python3-venv) or set PYTHON."
  say "spark: installing $spec into $VENV (about 320 MB download, then a wheel build) ..."
  rm -rf "$VENV" "$MARKERS/spark" "$MARKERS/spark.home"
  "$PYTHON_BIN" -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --progress-bar on "$spec"
  home="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  # pip keeps the modes of the sdist; make sure the launchers are executable
  find "$home/bin" "$home/sbin" -maxdepth 1 -type f ! -name '*.cmd' -exec chmod +x {} + 2>/dev/null || true
  local out
  out="$(SPARK_HOME="$home" "$home/bin/spark-submit" --version 2>&1)" || { say "$out"; die "spark-submit --version failed"; }
  grep -q "version $SPARK_VERSION" <<<"$out" || { say "$out"; die "spark-submit reports an unexpected version"; }
  marker_set spark.home "$home"
  marker_set spark "$spec"
  say "spark: installed (SPARK_HOME=$home)"
}

setup_spark_kafka() {
  local spec="spark-sql-kafka-0-10_$SPARK_SCALA:$SPARK_VERSION"
  if marker_ok spark-kafka "$spec" && spark_kafka_jars >/dev/null; then
    say "spark-kafka: cached ($spec + kafka-clients, token provider, commons-pool2)"; return 0
  fi
  say "spark-kafka: installing $spec and the dependencies Spark does not ship ..."
  local pomdir="$CACHE/maven/spark-kafka"
  # Spark already ships hadoop-client-*, lz4, snappy, jsr305 and spark-tags: only copy the rest.
  write_pom "$pomdir" spark-kafka "    <dependency>
      <groupId>org.apache.spark</groupId>
      <artifactId>spark-sql-kafka-0-10_$SPARK_SCALA</artifactId>
      <version>$SPARK_VERSION</version>
      <exclusions><exclusion><groupId>org.apache.hadoop</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>"
  mvn_copy spark-kafka "$pomdir" "$SPARK_KAFKA_DIR" \
    -DincludeArtifactIds="spark-sql-kafka-0-10_$SPARK_SCALA,spark-token-provider-kafka-0-10_$SPARK_SCALA,kafka-clients,commons-pool2" \
    || die "spark-kafka: download failed"
  local n; n="$(find "$SPARK_KAFKA_DIR" -name '*.jar' | wc -l)"
  [[ "$n" -eq 4 ]] || die "spark-kafka: expected 4 jars in $SPARK_KAFKA_DIR, found $n"
  marker_set spark-kafka "$spec"
  say "spark-kafka: installed ($(find "$SPARK_KAFKA_DIR" -name '*.jar' -printf '%f ')) "
}

setup_kafka() {
  local spec="kafka_$KAFKA_SCALA:$KAFKA_VERSION+kafka-tools+slf4j-reload4j:$SLF4J_VERSION"
  if marker_ok kafka "$spec" && [[ -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ]]; then
    say "kafka: cached (kafka_$KAFKA_SCALA $KAFKA_VERSION)"; return 0
  fi
  say "kafka: installing kafka_$KAFKA_SCALA:$KAFKA_VERSION broker + tools with their dependencies ..."
  local pomdir="$CACHE/maven/kafka"
  # kafka-tools brings TopicCommand/ConsoleConsumer; its connect-runtime dependency is only
  # needed for Connect's plugin tool, so it is left out (saves jersey, jetty, ...).
  write_pom "$pomdir" kafka "    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_$KAFKA_SCALA</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version>
    </dependency>"
  mvn_copy kafka "$pomdir" "$KAFKA_LIBS" || die "kafka: download failed"
  [[ -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ]] || die "kafka: broker jar missing after download"
  marker_set kafka "$spec"
  say "kafka: installed ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS)"
}

setup_livy() {
  if [[ -n "${LIVY_DIST:-}" ]]; then
    local d; d="$(livy_jars_dir)"
    compgen -G "$d/livy-server*.jar" >/dev/null || die "LIVY_DIST=$LIVY_DIST has no jars/livy-server*.jar"
    say "livy: using the distribution in LIVY_DIST ($d)"; return 0
  fi
  local spec="livy-server:$LIVY_VERSION"
  if marker_ok livy "$spec" && [[ -f "$LIVY_JARS/livy-server-$LIVY_VERSION.jar" ]]; then
    say "livy: cached (livy-server $LIVY_VERSION)"; return 0
  fi
  say "livy: installing org.apache.livy:livy-server:$LIVY_VERSION with its dependencies ..."
  local pomdir="$CACHE/maven/livy"
  write_pom "$pomdir" livy "    <dependency>
      <groupId>org.apache.livy</groupId><artifactId>livy-server</artifactId><version>$LIVY_VERSION</version>
    </dependency>"
  mvn_copy livy "$pomdir" "$LIVY_JARS" || die "livy: download failed"
  [[ -f "$LIVY_JARS/livy-server-$LIVY_VERSION.jar" ]] || die "livy: server jar missing after download"
  marker_set livy "$spec"
  say "livy: installed ($(find "$LIVY_JARS" -name '*.jar' | wc -l) jars in $LIVY_JARS)"
}

setup_hadoop() {
  local spec="hadoop-hdfs:$HADOOP_VERSION+hadoop-hdfs-client+hadoop-common"
  if marker_ok hadoop "$spec" && [[ -f "$HADOOP_LIBS/hadoop-hdfs-$HADOOP_VERSION.jar" ]]; then
    say "hadoop: cached (hadoop-hdfs $HADOOP_VERSION, for the cluster mode)"; return 0
  fi
  say "hadoop: installing hadoop-hdfs $HADOOP_VERSION with its dependencies (the cluster mode's HDFS daemons) ..."
  local pomdir="$CACHE/maven/hadoop"
  write_pom "$pomdir" hadoop "    <dependency>
      <groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs</artifactId><version>$HADOOP_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs-client</artifactId><version>$HADOOP_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.hadoop</groupId><artifactId>hadoop-common</artifactId><version>$HADOOP_VERSION</version>
    </dependency>"
  mvn_copy hadoop "$pomdir" "$HADOOP_LIBS" || die "hadoop: download failed"
  [[ -f "$HADOOP_LIBS/hadoop-hdfs-$HADOOP_VERSION.jar" ]] || die "hadoop: hadoop-hdfs jar missing after download"
  # Two slf4j bindings arrive (log4j12 through zookeeper, reload4j through hadoop): keep one.
  rm -f "$HADOOP_LIBS"/slf4j-log4j12-*.jar
  marker_set hadoop "$spec"
  say "hadoop: installed ($(find "$HADOOP_LIBS" -name '*.jar' | wc -l) jars in $HADOOP_LIBS)"
}

setup_influxdb() {
  local bin
  if bin="$(command -v "$INFLUXD_BIN" 2>/dev/null)"; then
    say "influxdb: present ($("$bin" version 2>/dev/null | head -n1), $bin)"; return 0
  fi
  say "influxdb: installing Debian's influxdb package (InfluxDB 1.x) with apt-get ..."
  local sudo=()
  if ! command -v apt-get >/dev/null 2>&1; then
    die "influxdb: 'influxd' not found and apt-get is not available. Install InfluxDB 1.x yourself (any 1.x 'influxd' on PATH, or set INFLUXD=/path/to/influxd) and run setup again."
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo)
    else die "influxdb: 'influxd' not found. Run: sudo apt-get install -y influxdb   (then run setup again)"; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y influxdb; then
    say "influxdb: apt-get install failed; refreshing the package lists and retrying ..."
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y influxdb || die "influxdb: apt-get install -y influxdb failed"
  fi
  bin="$(command -v "$INFLUXD_BIN")" || die "influxdb: package installed but 'influxd' is not on PATH"
  say "influxdb: installed ($("$bin" version 2>/dev/null | head -n1)). The package's system service is not used;"
  say "          if your init system started it on :8086, stop it (systemctl disable --now influxdb) or set INFLUXDB_PORT."
}

cmd_setup() { # [--cluster]: also the cluster mode's HDFS daemons
  local t0=$SECONDS cluster=0
  case "${1:-}" in "") ;; --cluster) cluster=1 ;; *) die "usage: stack.sh setup [--cluster]" ;; esac
  mkdir -p "$CACHE"
  check_java
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.setup.lock"
    flock -w 1800 9 || die "another setup holds $CACHE/.setup.lock"
  fi
  setup_spark
  setup_spark_kafka
  setup_kafka
  setup_livy
  if ((cluster)); then setup_hadoop; fi
  setup_influxdb
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
  say "setup: done in $((SECONDS - t0))s (cache: $CACHE)"
}

setup_complete() {
  marker_ok spark "pyspark==$SPARK_VERSION" && spark_home >/dev/null &&
    marker_ok spark-kafka "spark-sql-kafka-0-10_$SPARK_SCALA:$SPARK_VERSION" &&
    marker_ok kafka "kafka_$KAFKA_SCALA:$KAFKA_VERSION+kafka-tools+slf4j-reload4j:$SLF4J_VERSION" &&
    { [[ -n "${LIVY_DIST:-}" ]] || marker_ok livy "livy-server:$LIVY_VERSION"; } &&
    command -v "$INFLUXD_BIN" >/dev/null 2>&1 &&
    { [[ "${1:-local}" != cluster ]] || marker_ok hadoop "hadoop-hdfs:$HADOOP_VERSION+hadoop-hdfs-client+hadoop-common"; }
}

# ---- runtime: configuration files ----------------------------------------------------
CONF="$RUNTIME/conf"
LOGS="$RUNTIME/logs"
PIDS="$RUNTIME/pids"
DATA="$RUNTIME/data"
MODE_FILE="$RUNTIME/mode"

# The mode of the last 'up': local (the default) or cluster.
current_mode() { if [[ -f "$MODE_FILE" && "$(<"$MODE_FILE")" == cluster ]]; then echo cluster; else echo local; fi; }
mode_services() { if [[ "$1" == cluster ]]; then echo "${CLUSTER_SERVICES[*]}"; else echo "${LOCAL_SERVICES[*]}"; fi; }

write_kafka_conf() {
  mkdir -p "$CONF/kafka" "$DATA/kafka"
  cat >"$CONF/kafka/server.properties" <<EOF
# generated by infrastructure/local/stack.sh at every 'up'; edits are overwritten
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://localhost:$KAFKA_PORT,CONTROLLER://localhost:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://localhost:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA/kafka
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# single node: internal topics with one replica (and few partitions, for a quick start)
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=104857600
EOF
  write_kafka_log4j
}

write_kafka_log4j() {
  mkdir -p "$CONF/kafka"
  cat >"$CONF/kafka/log4j.properties" <<'EOF'
# broker logging (reload4j / log4j 1.x API, bound through slf4j-reload4j); stdout -> logs/kafka.log
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$CONF/kafka/tools-log4j.properties" <<'EOF'
# command line tools: warnings only, on stderr
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
}

write_livy_conf() {
  mkdir -p "$CONF/livy" "$STAGING" "$DATA/livy" "$LOGS/livy-requests"
  cat >"$CONF/livy/livy.conf" <<EOF
# generated by infrastructure/local/stack.sh at every 'up'; edits are overwritten
livy.server.host = $BIND_HOST
livy.server.port = $LIVY_PORT
livy.spark.master = $(if [[ "$(current_mode)" == cluster ]]; then echo "spark://$BIND_HOST:$SPARK_MASTER_PORT"; else echo 'local[*]'; fi)
livy.spark.deploy-mode = client
livy.spark.scala-version = $SPARK_SCALA
# batch files (and --jars) must come from these folders
livy.file.local-dir-whitelist = $STAGING/,$SPARK_KAFKA_DIR/
livy.server.recovery.mode = off
# lines of each batch's driver log Livy keeps for GET /batches/{id}/log (default 200); the
# driver's monitor reads the runner's progress events from there
livy.cache-log.size = 5000
EOF
  cat >"$CONF/livy/log4j.properties" <<'EOF'
log4j.rootCategory=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
log4j.logger.org.eclipse.jetty=WARN
EOF
}

write_influxdb_conf() {
  mkdir -p "$CONF/influxdb" "$DATA/influxdb/meta" "$DATA/influxdb/data" "$DATA/influxdb/wal"
  cat >"$CONF/influxdb/influxdb.conf" <<EOF
# generated by infrastructure/local/stack.sh at every 'up'; edits are overwritten
bind-address = "$BIND_HOST:$INFLUXDB_RPC_PORT"

[meta]
  dir = "$DATA/influxdb/meta"

[data]
  dir = "$DATA/influxdb/data"
  wal-dir = "$DATA/influxdb/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "$BIND_HOST:$INFLUXDB_PORT"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "info"
  suppress-logo = true
EOF
}

write_hdfs_conf() {
  mkdir -p "$CONF/hdfs/webapps/hdfs" "$CONF/hdfs/webapps/datanode" "$CONF/hdfs/webapps/static" "$DATA/hdfs"
  cat >"$CONF/hdfs/core-site.xml" <<EOF
<?xml version="1.0"?>
<!-- generated by infrastructure/local/stack.sh at every 'up'; edits are overwritten -->
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://localhost:$HDFS_NAMENODE_PORT</value></property>
  <property><name>hadoop.tmp.dir</name><value>$DATA/hdfs/tmp</value></property>
</configuration>
EOF
  cat >"$CONF/hdfs/hdfs-site.xml" <<EOF
<?xml version="1.0"?>
<!-- generated by infrastructure/local/stack.sh at every 'up'; edits are overwritten -->
<configuration>
  <property><name>dfs.namenode.name.dir</name><value>$DATA/hdfs/name</value></property>
  <property><name>dfs.datanode.data.dir</name><value>$DATA/hdfs/data</value></property>
  <property><name>dfs.replication</name><value>1</value></property>
  <!-- one machine, one user: no HDFS permission checks (the Compose cluster keeps them) -->
  <property><name>dfs.permissions.enabled</name><value>false</value></property>
  <property><name>dfs.namenode.rpc-address</name><value>localhost:$HDFS_NAMENODE_PORT</value></property>
  <property><name>dfs.namenode.http-address</name><value>localhost:$HDFS_HTTP_PORT</value></property>
  <property><name>dfs.datanode.address</name><value>$BIND_HOST:$HDFS_DATANODE_PORT</value></property>
  <property><name>dfs.datanode.http.address</name><value>$BIND_HOST:$HDFS_DATANODE_HTTP_PORT</value></property>
  <property><name>dfs.datanode.ipc.address</name><value>$BIND_HOST:$HDFS_DATANODE_IPC_PORT</value></property>
  <property><name>dfs.datanode.hostname</name><value>localhost</value></property>
  <!-- leave safe mode as soon as the one DataNode has reported its blocks -->
  <property><name>dfs.namenode.safemode.extension</name><value>0</value></property>
  <property><name>dfs.webhdfs.enabled</name><value>true</value></property>
</configuration>
EOF
  cat >"$CONF/hdfs/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
EOF
  # The Maven jar of hadoop-hdfs leaves out the web UI's files; the HTTP servers (and WebHDFS
  # with them) only need the folders to exist on the class path.
  printf '<html><body>HDFS NameNode of the sensor-streaming local stack. REST: /webhdfs/v1/</body></html>\n' >"$CONF/hdfs/webapps/hdfs/index.html"
}

# ---- runtime: processes ----------------------------------------------------------------
svc_port() {
  case "$1" in
    kafka) echo "$KAFKA_PORT" ;; livy) echo "$LIVY_PORT" ;; influxdb) echo "$INFLUXDB_PORT" ;;
    proxy) echo "$PROXY_PORT" ;;
    hdfs-namenode) echo "$HDFS_NAMENODE_PORT" ;; hdfs-datanode) echo "$HDFS_DATANODE_PORT" ;;
    spark-master) echo "$SPARK_MASTER_PORT" ;;
    spark-worker-*) echo "$((SPARK_WORKER_WEBUI_PORT + ${1#spark-worker-} - 1))" ;;
  esac
}

# Every port a service listens on, as "VARIABLE port" pairs (checked free before a start).
svc_ports() {
  case "$1" in
    kafka) echo "KAFKA_PORT $KAFKA_PORT KAFKA_CONTROLLER_PORT $KAFKA_CONTROLLER_PORT" ;;
    livy) echo "LIVY_PORT $LIVY_PORT" ;;
    influxdb) echo "INFLUXDB_PORT $INFLUXDB_PORT INFLUXDB_RPC_PORT $INFLUXDB_RPC_PORT" ;;
    proxy) echo "PROXY_PORT $PROXY_PORT" ;;
    hdfs-namenode) echo "HDFS_NAMENODE_PORT $HDFS_NAMENODE_PORT HDFS_HTTP_PORT $HDFS_HTTP_PORT" ;;
    hdfs-datanode) echo "HDFS_DATANODE_PORT $HDFS_DATANODE_PORT HDFS_DATANODE_HTTP_PORT $HDFS_DATANODE_HTTP_PORT HDFS_DATANODE_IPC_PORT $HDFS_DATANODE_IPC_PORT" ;;
    spark-master) echo "SPARK_MASTER_PORT $SPARK_MASTER_PORT SPARK_MASTER_WEBUI_PORT $SPARK_MASTER_WEBUI_PORT" ;;
    spark-worker-*) echo "SPARK_WORKER_WEBUI_PORT $(svc_port "$1")" ;;
  esac
}

# A string that only our own process of that service has on its command line.
svc_marker() {
  case "$1" in
    kafka) echo "$CONF/kafka/server.properties" ;;
    livy) echo "-Dsensor.stack.runtime=$RUNTIME" ;;
    influxdb) echo "$CONF/influxdb/influxdb.conf" ;;
    proxy) echo "$REPO_ROOT/dist/cli/main.js proxy" ;;
    # on the command line of spark-class's bash as well as of the java it becomes
    spark-*) echo "$CONF/spark/$1.properties" ;;
    *) echo "-Dsensor.stack.service=$1:$RUNTIME" ;;
  esac
}

proc_args() {
  if [[ -r "/proc/$1/cmdline" ]]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -ww -p "$1" -o args= 2>/dev/null; fi
}

# Prints the pid and returns 0 when the service's pid file names a live process of ours.
svc_pid() {
  local f="$PIDS/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  proc_args "$pid" | grep -qF -- "$(svc_marker "$1")" || return 1
  printf '%s\n' "$pid"
}

show_log_tail() {
  local log="$LOGS/$1.log"
  say "---- last 30 lines of $log ----"
  if [[ -f "$log" ]]; then tail -n 30 "$log"; else say "(no log file)"; fi
  say "---- end of $log ----"
}

# start_proc NAME WORKDIR CMD... : detached (own session), stdin closed, output to logs/NAME.log
start_proc() {
  local name="$1" workdir="$2"; shift 2
  local pidfile="$PIDS/$name.pid" log="$LOGS/$name.log"
  mkdir -p "$PIDS" "$LOGS" "$workdir"
  rm -f "$pidfile"
  printf '===== %s: starting %s =====\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$name" >>"$log"
  local setsid=()
  command -v setsid >/dev/null 2>&1 && setsid=(setsid)
  # shellcheck disable=SC2016 # expanded by the inner bash
  nohup "${setsid[@]}" bash -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1"; cd "$2" || exit 1; shift 2; exec "$@"' \
    start-proc "$pidfile" "$workdir" "$@" </dev/null >>"$log" 2>&1 &

  for _ in $(seq 1 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
  [[ -s "$pidfile" ]] || { show_log_tail "$name"; die "$name: process did not start"; }
  say "$name: started (pid $(<"$pidfile"), log $log)"
}

# Before starting anything: every port of a service that is not running yet must be free.
preflight_ports() {
  local conflicts=() name port var
  for name in "$@"; do
    svc_pid "$name" >/dev/null && continue
    # shellcheck disable=SC2046 # word splitting of the pairs is wanted
    set -- $(svc_ports "$name")
    while [[ $# -gt 0 ]]; do
      var="$1" port="$2"; shift 2
      port_open "$port" && conflicts+=("$name: port $port ($var) is already in use by a process this stack did not start")
    done
  done
  if [[ ${#conflicts[@]} -gt 0 ]]; then
    printf 'stack.sh: error: %s\n' "${conflicts[@]}" >&2
    die "stop those processes or choose other ports (e.g. LIVY_PORT=18998 stack.sh up); nothing was started"
  fi
}

kafka_java() { # java with the broker classpath
  "$JAVA_BIN" -cp "$KAFKA_LIBS/*" "$@"
}

start_kafka() {
  local pid
  if pid="$(svc_pid kafka)"; then say "kafka: already running (pid $pid)"; return 0; fi
  write_kafka_conf
  if [[ ! -f "$DATA/kafka/meta.properties" ]]; then
    local cid
    cid="$(kafka_java -Dlog4j.configuration="file:$CONF/kafka/tools-log4j.properties" kafka.tools.StorageTool random-uuid | tail -n1)"
    say "kafka: formatting storage in $DATA/kafka (cluster id $cid)"
    kafka_java -Dlog4j.configuration="file:$CONF/kafka/tools-log4j.properties" \
      kafka.tools.StorageTool format -t "$cid" -c "$CONF/kafka/server.properties" >>"$LOGS/kafka.log" 2>&1 \
      || { show_log_tail kafka; die "kafka: storage format failed"; }
  else
    say "kafka: reusing formatted storage in $DATA/kafka (cluster id $(sed -n 's/^cluster.id=//p' "$DATA/kafka/meta.properties"))"
  fi
  start_proc kafka "$DATA/kafka" "$JAVA_BIN" -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$CONF/kafka/log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$CONF/kafka/server.properties"
}

# Livy's batches that have not ended (their drivers are children of Livy: a restart ends them).
livy_active_batches() {
  curl -s -m 5 "http://$BIND_HOST:$LIVY_PORT/batches?size=1000" 2>/dev/null | "$PYTHON_BIN" -c '
import json, sys
try:
    sessions = json.load(sys.stdin).get("sessions", [])
except ValueError:
    sys.exit(0)
print(" ".join("%s (%s, %s)" % (s.get("id"), s.get("name"), s.get("state")) for s in sessions if s.get("state") not in ("success", "dead", "killed", "error")))
'
}

# Switching modes restarts Livy, which ends every Spark driver it started: not while jobs run,
# unless --force.
refuse_mode_switch_under_jobs() { # MODE
  local running
  svc_pid livy >/dev/null || return 0
  [[ "$(livy_running_mode)" != "$1" ]] || return 0
  running="$(livy_active_batches)"
  [[ -n "$running" ]] || return 0
  if ((FORCE)); then warn "--force: restarting Livy for the $1 mode ends these jobs: $running"; return 0; fi
  die "Livy runs in the $(livy_running_mode) mode with jobs that have not ended: $running. Switching to the $1 mode restarts Livy and would end them: stop them first (./stop-spark-streaming.sh), or pass --force"
}

# The mode a running Livy of ours was started in (its command line says so).
livy_running_mode() {
  local pid; pid="$(svc_pid livy)" || return 1
  if proc_args "$pid" | grep -qF -- "-Dsensor.stack.mode=cluster"; then echo cluster; else echo local; fi
}

start_livy() {
  local pid mode; mode="$(current_mode)"
  if pid="$(svc_pid livy)"; then
    if [[ "$(livy_running_mode)" == "$mode" ]]; then say "livy: already running (pid $pid, $mode mode)"; return 0; fi
    say "livy: running in the $(livy_running_mode) mode; restarting it for the $mode mode"
    stop_service livy
  fi
  write_livy_conf
  local home; home="$(spark_home)" || die "spark is not installed; run setup"
  local jars; jars="$(livy_jars_dir)"
  # Livy (a Scala 2.11 server) only launches spark-submit for batches; Spark's own launcher adds
  # the --add-opens flags Spark needs on Java 17, so no extra JVM flags are needed here.
  # SPARK_LOCAL_IP: the batch drivers bind to loopback, like the other services.
  start_proc livy "$DATA/livy" env SPARK_HOME="$home" SPARK_LOCAL_IP="$BIND_HOST" \
    LIVY_HOME="$(dirname "$jars")" LIVY_CONF_DIR="$CONF/livy" LIVY_LOG_DIR="$LOGS/livy-requests" \
    "$JAVA_BIN" -Xmx512m -Dsensor.stack.runtime="$RUNTIME" -Dsensor.stack.mode="$mode" \
    -cp "$jars/*:$CONF/livy" org.apache.livy.server.LivyServer
}

# The java command of a Hadoop daemon (or tool) with the stack's configuration, in HDFS_CMD.
hdfs_cmd() { # SERVICE CLASS [ARGS...]
  local service="$1"; shift
  # WebHDFS's JAXB needs java.lang opened on Java 17 (Hadoop 3.3 predates the module checks).
  HDFS_CMD=("$JAVA_BIN" -Xmx512m --add-opens=java.base/java.lang=ALL-UNNAMED -Djava.awt.headless=true
    -Dsensor.stack.service="$service:$RUNTIME" -Dlog4j.configuration="file:$CONF/hdfs/log4j.properties"
    -Dhadoop.log.dir="$LOGS" -cp "$CONF/hdfs:$HADOOP_LIBS/*" "$@")
}

start_hdfs_namenode() {
  local pid
  if pid="$(svc_pid hdfs-namenode)"; then say "hdfs-namenode: already running (pid $pid)"; return 0; fi
  [[ -f "$HADOOP_LIBS/hadoop-hdfs-$HADOOP_VERSION.jar" ]] || die "hadoop is not installed; run: infrastructure/local/stack.sh setup --cluster"
  write_hdfs_conf
  mkdir -p "$LOGS"
  if [[ ! -f "$DATA/hdfs/name/current/VERSION" ]]; then
    say "hdfs-namenode: formatting a new file system in $DATA/hdfs/name"
    hdfs_cmd hdfs-format org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive -force
    "${HDFS_CMD[@]}" >>"$LOGS/hdfs-namenode.log" 2>&1 || { show_log_tail hdfs-namenode; die "hdfs-namenode: format failed"; }
  else
    say "hdfs-namenode: reusing the file system in $DATA/hdfs/name (what was written survives down and up)"
  fi
  hdfs_cmd hdfs-namenode org.apache.hadoop.hdfs.server.namenode.NameNode
  start_proc hdfs-namenode "$DATA/hdfs" "${HDFS_CMD[@]}"
}

start_hdfs_datanode() {
  local pid
  if pid="$(svc_pid hdfs-datanode)"; then say "hdfs-datanode: already running (pid $pid)"; return 0; fi
  write_hdfs_conf
  hdfs_cmd hdfs-datanode org.apache.hadoop.hdfs.server.datanode.DataNode
  start_proc hdfs-datanode "$DATA/hdfs" "${HDFS_CMD[@]}"
}

# Spark's own launcher (bin/spark-class) with the daemon settings of one service.
spark_daemon() { # SERVICE WORKDIR CLASS [ARGS...]
  local service="$1" workdir="$2" class="$3"; shift 3
  local home; home="$(spark_home)" || die "spark is not installed; run setup"
  mkdir -p "$CONF/spark"
  cat >"$CONF/spark/$service.properties" <<EOF
# generated by infrastructure/local/stack.sh at every start of $service; edits are overwritten
# (Spark's defaults apply; the file also marks the process as this stack's $service)
spark.worker.cleanup.enabled=true
EOF
  start_proc "$service" "$workdir" env SPARK_HOME="$home" SPARK_LOCAL_IP="$BIND_HOST" \
    SPARK_DAEMON_MEMORY=512m SPARK_LOG_DIR="$LOGS" SPARK_WORKER_DIR="$workdir" \
    "$home/bin/spark-class" "$class" --properties-file "$CONF/spark/$service.properties" "$@"
}

start_spark_master() {
  local pid
  if pid="$(svc_pid spark-master)"; then say "spark-master: already running (pid $pid)"; return 0; fi
  mkdir -p "$DATA/spark/master"
  spark_daemon spark-master "$DATA/spark/master" org.apache.spark.deploy.master.Master \
    --host "$BIND_HOST" --port "$SPARK_MASTER_PORT" --webui-port "$SPARK_MASTER_WEBUI_PORT"
}

start_spark_worker() { # N
  local name="spark-worker-$1" pid
  if pid="$(svc_pid "$name")"; then say "$name: already running (pid $pid)"; return 0; fi
  mkdir -p "$DATA/spark/$name"
  spark_daemon "$name" "$DATA/spark/$name" org.apache.spark.deploy.worker.Worker \
    --host "$BIND_HOST" --cores "$SPARK_WORKER_CORES" --memory "$SPARK_WORKER_MEMORY" \
    --webui-port "$(svc_port "$name")" --work-dir "$DATA/spark/$name" "spark://$BIND_HOST:$SPARK_MASTER_PORT"
}

# The ingestion proxy is this repository's own CLI: it runs once the CLI is built.
proxy_available() { [[ -f "$REPO_ROOT/dist/cli/main.js" && -d "$REPO_ROOT/node_modules" ]] && command -v "$NODE_BIN" >/dev/null 2>&1; }
PROXY_UNAVAILABLE="the CLI is not built (npm ci && npm run build), then: infrastructure/local/stack.sh start proxy"

start_proxy() {
  local pid
  if pid="$(svc_pid proxy)"; then say "proxy: already running (pid $pid)"; return 0; fi
  proxy_available || die "proxy: $PROXY_UNAVAILABLE"
  # The schools spec's message shape and topic; sensors (and simulate --to) POST to /stream.
  start_proc proxy "$REPO_ROOT" "$NODE_BIN" "$REPO_ROOT/dist/cli/main.js" proxy "$REPO_ROOT/conf/pipeline.yaml" \
    --profile local --port "$PROXY_PORT" --brokers "localhost:$KAFKA_PORT"
}

start_service() {
  case "$1" in
    spark-worker-*) start_spark_worker "${1#spark-worker-}" ;;
    *) "start_${1//-/_}" ;;
  esac
}

start_influxdb() {
  local pid
  if pid="$(svc_pid influxdb)"; then say "influxdb: already running (pid $pid)"; return 0; fi
  write_influxdb_conf
  local bin; bin="$(command -v "$INFLUXD_BIN")" || die "influxd not found; run setup"
  start_proc influxdb "$DATA/influxdb" "$bin" -config "$CONF/influxdb/influxdb.conf"
}

check_kafka() { port_open "$KAFKA_PORT"; }
check_livy() { [[ "$(http_code "http://$BIND_HOST:$LIVY_PORT/batches")" == 200 ]]; }
check_influxdb() { [[ "$(http_code "http://$BIND_HOST:$INFLUXDB_PORT/ping")" == 204 ]]; }
# Ready only when Kafka answers it.
check_proxy() { [[ "$(http_code "http://$BIND_HOST:$PROXY_PORT/health")" == 200 ]]; }
jmx() { curl -s -m 5 "http://$BIND_HOST:$HDFS_HTTP_PORT/jmx?qry=$1" 2>/dev/null || true; }
# The NameNode answers WebHDFS.
check_hdfs_namenode() { [[ "$(http_code "http://$BIND_HOST:$HDFS_HTTP_PORT/webhdfs/v1/?op=GETFILESTATUS")" == 200 ]]; }
# This DataNode process has registered with the NameNode (its own JMX says so: the NameNode
# keeps a DataNode killed a moment ago listed as live for minutes), and the NameNode has left safe
# mode (files can be written).
check_hdfs_datanode() {
  curl -s -m 5 "http://$BIND_HOST:$HDFS_DATANODE_HTTP_PORT/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo" 2>/dev/null | "$PYTHON_BIN" -c '
import json, sys
try:
    actors = json.loads(json.load(sys.stdin)["beans"][0]["BPServiceActorInfo"])
except (ValueError, KeyError, IndexError):
    sys.exit(1)
sys.exit(0 if any(a.get("ActorState") == "RUNNING" for a in actors) else 1)
' && jmx "Hadoop:service=NameNode,name=NameNodeInfo" | grep -qF '"Safemode" : ""'
}
spark_master_json() { curl -s -m 5 "http://$BIND_HOST:$SPARK_MASTER_WEBUI_PORT/json/" 2>/dev/null || true; }
check_spark_master() { spark_master_json | grep -qE '"status" *: *"ALIVE"'; }
# The master lists this worker process (by the id its own web UI reports) as ALIVE; a worker
# killed a moment ago stays listed ALIVE under its old id until the master times it out.
check_spark_worker() { # N
  local port id; port="$(svc_port "spark-worker-$1")"
  id="$(curl -s -m 5 "http://$BIND_HOST:$port/json/" 2>/dev/null | "$PYTHON_BIN" -c 'import json, sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)" || return 1
  [[ -n "$id" ]] || return 1
  spark_master_json | "$PYTHON_BIN" -c '
import json, sys
try:
    workers = json.load(sys.stdin).get("workers", [])
except ValueError:
    sys.exit(1)
sys.exit(0 if any(w.get("id") == sys.argv[1] and w.get("state") == "ALIVE" for w in workers) else 1)
' "$id"
}
check_service() {
  case "$1" in
    spark-worker-*) check_spark_worker "${1#spark-worker-}" ;;
    *) "check_${1//-/_}" ;;
  esac
}
health_text() {
  case "$1" in
    kafka) echo "healthy (port open)" ;;
    livy) echo "healthy (GET /batches 200, $(livy_running_mode) mode)" ;;
    influxdb) echo "healthy (GET /ping 204)" ;;
    proxy) echo "healthy (GET /health 200; POST http://localhost:$PROXY_PORT/stream)" ;;
    hdfs-namenode) echo "healthy (WebHDFS on :$HDFS_HTTP_PORT)" ;;
    hdfs-datanode) echo "healthy (registered, NameNode out of safe mode)" ;;
    spark-master) echo "healthy (ALIVE, web UI :$SPARK_MASTER_WEBUI_PORT)" ;;
    spark-worker-*) echo "healthy (ALIVE at the master)" ;;
  esac
}

wait_healthy() { # name
  local name="$1" port t0=$SECONDS
  port="$(svc_port "$name")"
  printf 'waiting for %s on :%s ' "$name" "$port"
  while :; do
    if ! svc_pid "$name" >/dev/null; then
      printf ' FAILED: the process exited\n'; show_log_tail "$name"; return 1
    fi
    if check_service "$name"; then printf ' ok (%ss)\n' "$((SECONDS - t0))"; return 0; fi
    if ((SECONDS - t0 >= WAIT_TIMEOUT)); then
      printf ' TIMEOUT after %ss\n' "$((SECONDS - t0))"; show_log_tail "$name"; return 1
    fi
    printf '.'
    sleep 1
  done
}

kafka_broker_answers() {
  local out
  if out="$(timeout 60 "$JAVA_BIN" -Xmx256m -Dlog4j.configuration="file:$CONF/kafka/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "localhost:$KAFKA_PORT" --list 2>&1)"; then
    say "kafka: broker answers (topics: $(grep -cv '^\s*$' <<<"$out" || true))"
  else
    say "kafka: broker does not answer TopicCommand --list:"; say "$out"; show_log_tail kafka; return 1
  fi
}

cmd_up() {
  local mode=local arg
  FORCE=0
  for arg in "$@"; do
    case "$arg" in
      --cluster) mode=cluster ;;
      --force) FORCE=1 ;;
      *) die "usage: stack.sh up [--cluster] [--force]" ;;
    esac
  done
  if setup_complete "$mode"; then say "setup: cached"; elif [[ "$mode" == cluster ]]; then cmd_setup --cluster; else cmd_setup; fi
  need_cmd curl "Install curl (apt-get install -y curl)."
  check_java
  mkdir -p "$PIDS" "$LOGS" "$DATA" "$STAGING"
  local services name
  read -ra services <<<"$(mode_services "$mode")"
  if ! proxy_available; then
    say "proxy: not started ($PROXY_UNAVAILABLE)"
    read -ra services <<<"$(printf '%s\n' "${services[@]}" | grep -vx proxy | tr '\n' ' ')"
  fi
  preflight_ports "${services[@]}"
  refuse_mode_switch_under_jobs "$mode"
  printf '%s\n' "$mode" >"$MODE_FILE"
  say "up: $mode mode (${services[*]})"
  for name in "${services[@]}"; do start_service "$name"; done
  local failed=0
  for name in "${services[@]}"; do
    wait_healthy "$name" || { failed=1; continue; }
    if [[ "$name" == kafka ]]; then kafka_broker_answers || failed=1; fi
  done
  if ((failed)); then
    say "up: some services are not healthy (see above); 'stack.sh down' stops the others"
    return 1
  fi
  say "up: all services healthy ($mode mode)"
  say "  kafka     localhost:$KAFKA_PORT"
  say "  livy      http://localhost:$LIVY_PORT   (staging: $STAGING)"
  say "  influxdb  http://localhost:$INFLUXDB_PORT"
  if proxy_available; then say "  proxy     http://localhost:$PROXY_PORT/stream   (the ingestion proxy: POST readings)"; fi
  if [[ "$mode" == cluster ]]; then
    say "  hdfs      hdfs://localhost:$HDFS_NAMENODE_PORT   (WebHDFS http://localhost:$HDFS_HTTP_PORT)"
    say "  spark     spark://$BIND_HOST:$SPARK_MASTER_PORT   (web UI http://localhost:$SPARK_MASTER_WEBUI_PORT, 2 workers)"
  fi
}

group_alive() { ps -eo pgid=,stat= 2>/dev/null | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }

stop_service() {
  local name="$1" pid f="$PIDS/$1.pid"
  if ! pid="$(svc_pid "$name")"; then
    if [[ -f "$f" ]]; then rm -f "$f"; say "$name: not running (removed stale pid file)"
    else say "$name: not running"; fi
    return 0
  fi
  # The service runs in its own session/process group (setsid): signal the group, so that
  # children such as Livy's spark-submit drivers stop too.
  local target="$pid"
  [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] && target="-$pid"
  printf '%s: stopping (pid %s) ' "$name" "$pid"
  kill -TERM -- "$target" 2>/dev/null || true
  local t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null && proc_args "$pid" | grep -qF -- "$(svc_marker "$name")"; do
    if ((SECONDS - t0 >= STOP_TIMEOUT)); then
      printf ' no exit after %ss, SIGKILL' "$STOP_TIMEOUT"
      kill -KILL -- "$target" 2>/dev/null || true
      sleep 1
      break
    fi
    printf '.'
    sleep 1
  done
  # leftovers of the group (e.g. a spark-submit child that ignored SIGTERM); zombies don't count
  if [[ "$target" == -* ]]; then
    local left=0
    while group_alive "$pid" && ((left < 5)); do sleep 1; left=$((left + 1)); done
    if group_alive "$pid"; then kill -KILL -- "$target" 2>/dev/null || true; fi
  fi
  rm -f "$f"
  printf ' stopped (%ss)\n' "$((SECONDS - t0))"
}

valid_service() {
  local s
  for s in "${ALL_SERVICES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  die "unknown service '$1' (services: ${ALL_SERVICES[*]})"
}

cmd_start() {
  [[ $# -ge 1 ]] || die "usage: stack.sh start SERVICE... (services: ${ALL_SERVICES[*]})"
  local name failed=0
  for name in "$@"; do valid_service "$name"; done
  setup_complete || die "the stack is not installed yet: run infrastructure/local/stack.sh up"
  check_java
  mkdir -p "$PIDS" "$LOGS" "$DATA" "$STAGING"
  for name in "$@"; do start_service "$name"; done
  for name in "$@"; do
    wait_healthy "$name" || { failed=1; continue; }
    if [[ "$name" == kafka ]]; then kafka_broker_answers || failed=1; fi
  done
  return $failed
}

cmd_stop() {
  [[ $# -ge 1 ]] || die "usage: stack.sh stop SERVICE... (services: ${ALL_SERVICES[*]})"
  local name
  for name in "$@"; do valid_service "$name"; done
  for name in "$@"; do stop_service "$name"; done
}

cmd_down() {
  # Livy first (its drivers use everything else), the workers before their master, HDFS last
  # but one: a driver still running would otherwise fail on a missing NameNode.
  local name
  for name in proxy livy spark-worker-2 spark-worker-1 spark-master kafka hdfs-datanode hdfs-namenode influxdb; do
    # the cluster mode's services only when they ran (no "not running" noise in the local mode)
    if [[ " ${LOCAL_SERVICES[*]} " != *" $name "* && ! -f "$PIDS/$name.pid" ]]; then continue; fi
    stop_service "$name"
  done
}

cmd_status() {
  local name pid port health all=0 shown=() mode
  mode="$(current_mode)"
  read -ra shown <<<"$(mode_services "$mode")"
  # services of the other mode only when they still run
  for name in "${ALL_SERVICES[@]}"; do
    [[ " ${shown[*]} " == *" $name "* ]] && continue
    svc_pid "$name" >/dev/null && shown+=("$name")
  done
  printf 'mode: %s\n' "$mode"
  for name in "${shown[@]}"; do
    port="$(svc_port "$name")"
    if pid="$(svc_pid "$name")"; then
      if check_service "$name"; then health="$(health_text "$name")"; else health="NOT healthy"; all=1; fi
      printf '%-15s running  pid %-8s port %-6s %s\n' "$name" "$pid" "$port" "$health"
    else
      local note=()
      if [[ "$name" == proxy ]] && ! proxy_available; then
        printf '%-15s stopped  pid %-8s port %-6s %s\n' "$name" "-" "$port" "(not started: $PROXY_UNAVAILABLE)"
        continue
      fi
      [[ -f "$PIDS/$name.pid" ]] && note+=("(stale pid file)")
      port_open "$port" && note+=("(port in use by another process)")
      [[ ${#note[@]} -gt 0 ]] || note=("-")
      printf '%-15s stopped  pid %-8s port %-6s %s\n' "$name" "-" "$port" "${note[*]}"
      all=1
    fi
  done
  return $all
}

shell_quote() { # plain when safe, else single-quoted (readable output, still eval-safe)
  if [[ "$1" =~ ^[A-Za-z0-9_./:,@%+=-]*$ ]]; then printf '%s' "$1"
  else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

cmd_env() {
  local home jars
  home="$(spark_home)" || die "spark is not installed yet: run infrastructure/local/stack.sh setup"
  jars="$(spark_kafka_jars)" || die "spark-kafka jars are not installed yet: run infrastructure/local/stack.sh setup"
  printf 'export SPARK_HOME=%s\n' "$(shell_quote "$home")"
  printf 'export SPARK_KAFKA_JARS=%s\n' "$(shell_quote "$jars")"
  printf 'export LIVY_URL=%s\n' "$(shell_quote "http://localhost:$LIVY_PORT")"
  printf 'export KAFKA_BOOTSTRAP=%s\n' "$(shell_quote "localhost:$KAFKA_PORT")"
  printf 'export INFLUXDB_URL=%s\n' "$(shell_quote "http://localhost:$INFLUXDB_PORT")"
  printf 'export PROXY_URL=%s\n' "$(shell_quote "http://localhost:$PROXY_PORT")"
  printf 'export SENSOR_STREAMING_STAGING=%s\n' "$(shell_quote "$STAGING")"
  if [[ "$(current_mode)" == cluster ]]; then
    printf 'export HDFS_URL=%s\n' "$(shell_quote "hdfs://localhost:$HDFS_NAMENODE_PORT")"
    printf 'export WEBHDFS_URL=%s\n' "$(shell_quote "http://localhost:$HDFS_HTTP_PORT")"
    printf 'export SPARK_MASTER_URL=%s\n' "$(shell_quote "spark://$BIND_HOST:$SPARK_MASTER_PORT")"
  fi
}

cmd_kafka_class() {
  [[ $# -ge 1 ]] || die "usage: stack.sh kafka-class CLASS [ARGS...]"
  [[ -f "$KAFKA_LIBS/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ]] || die "kafka is not installed yet: run setup"
  write_kafka_log4j
  exec "$JAVA_BIN" -Xmx256m -Dlog4j.configuration="file:$CONF/kafka/tools-log4j.properties" -cp "$KAFKA_LIBS/*" "$@"
}

main() {
  local cmd="${1:-help}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    setup) cmd_setup "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    mode) current_mode ;;
    env) cmd_env ;;
    kafka-class) cmd_kafka_class "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
