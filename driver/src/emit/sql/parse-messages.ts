/** parse-messages: Kafka records -> Kafka coordinates, message text, typed fields, event time. */
import { READING_COLUMNS, REJECTED_COLUMNS } from "../../spec/columns.js";
import type { JsonPathStep } from "../../spec/json-path.js";
import type { ParseMessagesNode } from "../../plan/nodes.js";
import { EVENT_TIME_LAST_DAY, type TimeUnit } from "../../spec/pipeline-schema.js";
import { CORRUPT_RECORD_MEMBER } from "../../spec/message-schema.js";
import { messageSchemaDdl } from "./spark-types.js";
import { as, identifier, indent, quotedIdentifier, select, stringLiteral } from "./sql-text.js";

const PARSED = "json";
export const MALFORMED_COLUMN = "malformed";

/**
 * `get(array, i)` returns null when the index is out of bounds whatever the ANSI setting,
 * where `array[i]` raises an error under ANSI mode.
 * https://spark.apache.org/docs/3.5.1/api/sql/index.html#get
 */
export function pathExpression(root: string, steps: readonly JsonPathStep[]): string {
  let expression = root;
  for (const step of steps) {
    expression = step.kind === "index" ? `get(${expression}, ${step.index})` : `${expression}.${quotedOrBare(step.name)}`;
  }
  return expression;
}

function quotedOrBare(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? identifier(name) : quotedIdentifier(name);
}

/** Units of each numeric encoding per millisecond, as BigInt so microseconds stay exact. */
const PER_MILLISECOND: Readonly<Record<Exclude<TimeUnit, "iso8601">, { times: bigint; over: bigint }>> = {
  seconds: { times: 1n, over: 1000n },
  milliseconds: { times: 1n, over: 1n },
  microseconds: { times: 1000n, over: 1n },
};

const CONVERT: Readonly<Record<Exclude<TimeUnit, "iso8601">, string>> = {
  seconds: "timestamp_seconds",
  milliseconds: "timestamp_millis",
  microseconds: "timestamp_micros",
};

/**
 * The event time, or null when the value is missing or not a time from `notBefore` to the end
 * of year 9999. The range is checked on the raw value, before converting: `timestamp_millis`
 * and friends throw on overflow (`ArithmeticException: long overflow` for nanoseconds in a
 * milliseconds field) whatever the ANSI setting, and a plausible-looking value far in the
 * future would move the watermark past every window. NaN and infinities fail the BETWEEN
 * (Spark orders NaN above every number). ISO-8601 text goes through `try_to_timestamp`, which
 * returns null rather than throwing under ANSI mode, and is range-checked after parsing
 * (it reads years beyond 9999 such as "+50000-01-01").
 * https://spark.apache.org/docs/3.5.1/api/sql/index.html#timestamp_millis
 * https://spark.apache.org/docs/3.5.1/api/sql/index.html#try_to_timestamp
 */
function eventTimeExpression(node: ParseMessagesNode): string {
  const field = node.fields.find((f) => f.name === node.eventTime.field)!;
  const value = pathExpression(PARSED, field.path);
  const { unit, notBefore } = node.eventTime;
  const end = BigInt(Date.parse(`${EVENT_TIME_LAST_DAY}T00:00:00Z`) + 86_400_000);
  let when: string;
  let then: string;
  if (unit === "iso8601") {
    then = `try_to_timestamp(${value})`;
    when = `${then} BETWEEN TIMESTAMP '${notBefore.text} 00:00:00' AND TIMESTAMP '${EVENT_TIME_LAST_DAY} 23:59:59.999999'`;
  } else {
    const { times, over } = PER_MILLISECOND[unit];
    const inUnit = (ms: bigint): bigint => (ms * times) / over;
    when = `${value} BETWEEN ${inUnit(BigInt(notBefore.ms))} AND ${inUnit(end) - 1n}`;
    // Doubles are truncated to whole milliseconds or microseconds; the range makes the cast safe.
    const whole = field.type === "double" && unit !== "seconds" ? `CAST(${value} AS BIGINT)` : value;
    then = `${CONVERT[unit]}(${whole})`;
  }
  return ["CASE", indent(`WHEN ${when}`), indent(`THEN ${then}`), "END"].join("\n");
}

export function parseMessagesSql(node: ParseMessagesNode): string {
  const fromJson = [
    "from_json(",
    indent(
      [
        "CAST(value AS STRING),",
        `${stringLiteral(messageSchemaDdl(node.schema), { multiline: true })},`,
        `map('mode', 'PERMISSIVE', 'columnNameOfCorruptRecord', ${stringLiteral(CORRUPT_RECORD_MEMBER)})`,
      ].join("\n"),
    ),
    `) AS ${PARSED}`,
  ].join("\n");
  const records = select({
    columns: [
      `${identifier("partition")} AS ${READING_COLUMNS.kafkaPartition}`,
      `${identifier("offset")} AS ${READING_COLUMNS.kafkaOffset}`,
      `${identifier("timestamp")} AS ${READING_COLUMNS.kafkaTimestamp}`,
      `CAST(value AS STRING) AS ${REJECTED_COLUMNS.message}`,
      fromJson,
    ],
    from: node.from,
  });
  return select({
    columns: [
      READING_COLUMNS.kafkaPartition,
      READING_COLUMNS.kafkaOffset,
      READING_COLUMNS.kafkaTimestamp,
      REJECTED_COLUMNS.message,
      `${PARSED} IS NULL OR ${PARSED}.${CORRUPT_RECORD_MEMBER} IS NOT NULL AS ${MALFORMED_COLUMN}`,
      ...node.fields.map((f) => as(pathExpression(PARSED, f.path), f.name)),
      `${eventTimeExpression(node)} AS ${READING_COLUMNS.eventTime}`,
    ],
    from: { subquery: records, alias: "record" },
  });
}
