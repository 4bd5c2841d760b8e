#!/usr/bin/env bash
# End-to-end check of the local stack (infrastructure/local/stack.sh):
#   Kafka    create a topic, produce 3 messages, consume them with the console tools
#   Spark    spark-submit --master local[2] --jars $SPARK_KAFKA_JARS: batch read and a
#            structured-streaming read (trigger availableNow) of that topic count 3 rows
#   Livy     the same job as a Livy batch reaches state 'success' and logs the counts;
#            a batch file outside the staging folder is refused
#   InfluxDB create a database, write a point, query it back, drop the database
# Self-contained: it compiles its tiny Java job into a temporary folder, uses a unique topic and
# database, removes them, and stops the stack again when it was the one that started it.
# Prints 'N passed, M failed' last and exits non-zero when anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STACK="$HERE/stack.sh"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'PASS %s\n' "$1"; }
ko() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [[ -z "${2:-}" ]] || printf '%s\n' "$2" | tail -n 30 | sed 's/^/     /'; }

command -v curl >/dev/null || { echo "smoke-test: curl is required" >&2; exit 1; }
command -v javac >/dev/null || { echo "smoke-test: javac (a JDK 17) is required" >&2; exit 1; }

"$STACK" setup

# Start the stack unless it already runs; stop it at the end only if nothing ran before.
running_before="$("$STACK" status 2>/dev/null | grep -c ' running ' || true)"
stop_at_end=0
if [[ "$running_before" -eq 0 ]]; then stop_at_end=1; fi
eval "$("$STACK" env)"

suffix="$(date +%s)_$$"
topic="smoke-test-${suffix//_/-}"
db="smoke_test_$suffix"
work="$(mktemp -d "${TMPDIR:-/tmp}/stack-smoke.XXXXXX")"
staged_jar="$SENSOR_STREAMING_STAGING/smoke-test-$suffix.jar"

kafka() { "$STACK" kafka-class "$@"; }
influx_q() { curl -s -m 10 -XPOST "$INFLUXDB_URL/query" --data-urlencode "q=$1"; }
# An InfluxQL identifier: double quotes, with " and \ escaped by a backslash.
# https://docs.influxdata.com/influxdb/v1/query_language/spec/#identifiers
influx_ident() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

cleanup() {
  set +e
  [[ "$finished" -eq 1 ]] || ko "smoke test ran to the end (it stopped early)"
  kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --delete --topic "$topic" >/dev/null 2>&1
  influx_q "DROP DATABASE $(influx_ident "$db")" >/dev/null 2>&1
  rm -f "$staged_jar"
  rm -rf "$work"
  if [[ "$stop_at_end" -eq 1 ]]; then "$STACK" down; fi
  printf '%s passed, %s failed\n' "$passed" "$failed"
  [[ "$failed" -eq 0 ]] && exit 0 || exit 1
}
finished=0
trap cleanup EXIT

"$STACK" up || exit 1

# ---- Kafka: console tools ------------------------------------------------------------
if out="$(kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
  --create --topic "$topic" --partitions 1 --replication-factor 1 2>&1)"; then
  ok "kafka: create topic $topic"
else ko "kafka: create topic $topic" "$out"; fi

if out="$(printf 'one\ntwo\nthree\n' | kafka kafka.tools.ConsoleProducer \
  --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" 2>&1)"; then
  ok "kafka: produce 3 messages"
else ko "kafka: produce 3 messages" "$out"; fi

out="$(kafka org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KAFKA_BOOTSTRAP" \
  --topic "$topic" --from-beginning --max-messages 3 --timeout-ms 30000 2>/dev/null || true)"
if [[ "$(printf '%s\n' "$out" | grep -cE '^(one|two|three)$')" -eq 3 ]]; then
  ok "kafka: consume 3 messages"
else ko "kafka: consume 3 messages" "$out"; fi

# ---- Spark: read the topic with the connector jars -------------------------------------
mkdir -p "$work/src" "$work/classes"
cat >"$work/src/KafkaSmoke.java" <<'EOF'
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

public class KafkaSmoke {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    SparkSession spark = SparkSession.builder().appName("stack-smoke-test").getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    long batch = spark.read().format("kafka")
        .option("kafka.bootstrap.servers", bootstrap).option("subscribe", topic)
        .option("startingOffsets", "earliest").load().count();
    System.out.println("KAFKA_BATCH_COUNT=" + batch);
    StreamingQuery query = spark.readStream().format("kafka")
        .option("kafka.bootstrap.servers", bootstrap).option("subscribe", topic)
        .option("startingOffsets", "earliest").load()
        .selectExpr("CAST(value AS STRING) AS value")
        .writeStream().format("memory").queryName("smoke").outputMode("append")
        .trigger(Trigger.AvailableNow()).start();
    query.awaitTermination();
    long streamed = spark.sql("SELECT count(*) FROM smoke").first().getLong(0);
    System.out.println("KAFKA_STREAM_COUNT=" + streamed);
    spark.stop();
  }
}
EOF
if out="$(javac --release 17 -nowarn -cp "$SPARK_HOME/jars/*" -d "$work/classes" "$work/src/KafkaSmoke.java" 2>&1)" &&
  jar cf "$work/kafka-smoke.jar" -C "$work/classes" .; then
  ok "spark: compile the smoke job against \$SPARK_HOME/jars"
else ko "spark: compile the smoke job against \$SPARK_HOME/jars" "$out"; fi

out="$(timeout 300 "$SPARK_HOME/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false \
  --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
  --jars "$SPARK_KAFKA_JARS" --class KafkaSmoke "$work/kafka-smoke.jar" "$KAFKA_BOOTSTRAP" "$topic" 2>&1 || true)"
if grep -q '^KAFKA_BATCH_COUNT=3$' <<<"$out"; then ok "spark-submit: batch read of the topic counts 3"
else ko "spark-submit: batch read of the topic counts 3" "$out"; fi
if grep -q '^KAFKA_STREAM_COUNT=3$' <<<"$out"; then ok "spark-submit: streaming read of the topic counts 3"
else ko "spark-submit: streaming read of the topic counts 3" "$out"; fi

# ---- Livy: the same job as a batch -----------------------------------------------------
mkdir -p "$SENSOR_STREAMING_STAGING"
cp "$work/kafka-smoke.jar" "$staged_jar"
IFS=, read -r -a kafka_jars <<<"$SPARK_KAFKA_JARS"
jars_json="$(printf '"%s",' "${kafka_jars[@]}")"
body="$(printf '{"file":"%s","className":"KafkaSmoke","args":["%s","%s"],"jars":[%s],"name":"stack-smoke-%s","conf":{"spark.ui.enabled":"false"}}' \
  "$staged_jar" "$KAFKA_BOOTSTRAP" "$topic" "${jars_json%,}" "$suffix")"
resp="$(curl -s -m 10 -XPOST -H 'Content-Type: application/json' "$LIVY_URL/batches" -d "$body" || true)"
batch_id="$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' <<<"$resp")"
if [[ -n "$batch_id" ]]; then
  state="" t0=$SECONDS
  while ((SECONDS - t0 < 300)); do
    state="$(curl -s -m 5 "$LIVY_URL/batches/$batch_id/state" | sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p')"
    case "$state" in success | dead | error | killed) break ;; esac
    sleep 2
  done
  log="$(curl -s -m 10 "$LIVY_URL/batches/$batch_id/log?from=0&size=1000" || true)"
  if [[ "$state" == success ]]; then ok "livy: batch $batch_id reached state success ($((SECONDS - t0))s)"
  else ko "livy: batch $batch_id reached state success (state: ${state:-unknown})" "$(tr ',' '\n' <<<"$log")"; fi
  if grep -q 'KAFKA_BATCH_COUNT=3' <<<"$log" && grep -q 'KAFKA_STREAM_COUNT=3' <<<"$log"; then
    ok "livy: batch log shows both counts = 3"
  else ko "livy: batch log shows both counts = 3" "$(tr ',' '\n' <<<"$log")"; fi
  curl -s -m 10 -XDELETE "$LIVY_URL/batches/$batch_id" >/dev/null || true
else
  ko "livy: POST /batches accepted" "$resp"
fi

refused="stack-smoke-refused-$suffix"
code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -XPOST -H 'Content-Type: application/json' \
  "$LIVY_URL/batches" -d "{\"file\":\"$work/kafka-smoke.jar\",\"className\":\"KafkaSmoke\",\"name\":\"$refused\"}" || true)"
if [[ "$code" == 400 ]]; then ok "livy: a file outside the staging folder is refused (400)"
else ko "livy: a file outside the staging folder is refused (got HTTP $code)"; fi
# Livy 0.7.1 answers 400 but keeps a ghost session in state 'starting': delete it.
ghost="$(curl -s -m 10 "$LIVY_URL/batches?size=1000" | grep -o "\"id\":[0-9]*,\"name\":\"$refused\"" | grep -o '[0-9][0-9]*' | head -n1 || true)"
[[ -z "$ghost" ]] || curl -s -m 10 -XDELETE "$LIVY_URL/batches/$ghost" >/dev/null || true

# ---- InfluxDB ---------------------------------------------------------------------------
out="$(influx_q "CREATE DATABASE $(influx_ident "$db")" || true)"
if grep -q '"statement_id":0' <<<"$out" && ! grep -q '"error"' <<<"$out"; then ok "influxdb: create database $db"
else ko "influxdb: create database $db" "$out"; fi
code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -XPOST "$INFLUXDB_URL/write?db=$db&precision=s" \
  --data-binary 'smoke,classroom=A\ 1 temperature=21.5,co2=415i 1700000000' || true)"
if [[ "$code" == 204 ]]; then ok "influxdb: write a point (204)"
else ko "influxdb: write a point (got HTTP $code)"; fi
out="$(curl -s -m 10 -G "$INFLUXDB_URL/query" --data-urlencode "db=$db" \
  --data-urlencode 'q=SELECT temperature, co2 FROM smoke' || true)"
if grep -q '21.5,415' <<<"$out"; then ok "influxdb: query the point back"
else ko "influxdb: query the point back" "$out"; fi

finished=1
