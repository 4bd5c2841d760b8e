#!/usr/bin/env bash
# Creates the InfluxDB 1.x database a staged plan writes to (1.x refuses writes to a missing
# database; CREATE DATABASE is idempotent). Does nothing for plans without an InfluxDB 1 sink.
# Usage: infrastructure/local/create-influx-database.sh STAGED_PLAN_JSON   (needs INFLUXDB_URL)
set -euo pipefail
plan=${1:?usage: create-influx-database.sh STAGED_PLAN_JSON}
: "${INFLUXDB_URL:?set INFLUXDB_URL (eval \"\$(infrastructure/local/stack.sh env)\")}"
database=$(node -e '
  const plan = require(process.argv[1]);
  const sink = plan.sinks.find((s) => s.kind === "influx-lines");
  if (sink && sink.influx.version === 1) console.log(new URL(sink.influx.writeUrl).searchParams.get("db"));
' "$plan")
if [ -n "$database" ]; then
  curl -fsS -XPOST "$INFLUXDB_URL/query" --data-urlencode "q=CREATE DATABASE \"$database\"" >/dev/null
  echo "InfluxDB database $database is ready"
fi
