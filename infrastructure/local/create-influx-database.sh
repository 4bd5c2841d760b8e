#!/usr/bin/env bash
# Creates the InfluxDB 1.x database a staged plan writes to (1.x refuses writes to a missing
# database; CREATE DATABASE is idempotent). Does nothing for plans without an InfluxDB 1 sink.
# Usage: infrastructure/local/create-influx-database.sh STAGED_PLAN_JSON   (needs INFLUXDB_URL)
set -euo pipefail
plan=${1:?usage: create-influx-database.sh STAGED_PLAN_JSON}
: "${INFLUXDB_URL:?set INFLUXDB_URL (eval \"\$(infrastructure/local/stack.sh env)\")}"
# The name goes into InfluxQL as a quoted identifier, with " and \ escaped by a backslash
# (https://docs.influxdata.com/influxdb/v1/query_language/spec/#identifiers); validation has
# already refused names InfluxDB cannot take. Prints the name, then the statement.
# shellcheck disable=SC2016  # JavaScript, not shell: ${...} is a template literal for node
lines=$(node -e '
  const plan = require(process.argv[1]);
  const sink = plan.sinks.find((s) => s.kind === "influx-lines");
  if (sink && sink.influx.version === 1) {
    const database = new URL(sink.influx.writeUrl).searchParams.get("db");
    console.log(database);
    console.log(`CREATE DATABASE "${database.replace(/["\\]/g, "\\$&")}"`);
  }
' "$plan")
if [ -n "$lines" ]; then
  database=$(head -n 1 <<<"$lines")
  statement=$(tail -n 1 <<<"$lines")
  # InfluxDB answers 200 with the error in the body (e.g. "invalid name").
  answer=$(curl -fsS -XPOST "$INFLUXDB_URL/query" --data-urlencode "q=$statement")
  if grep -q '"error"' <<<"$answer"; then
    echo "create-influx-database.sh: InfluxDB refused $statement: $answer" >&2
    exit 1
  fi
  echo "InfluxDB database $database is ready"
fi
