/** parse-messages: Kafka records -> Kafka coordinates, message text, typed fields, event time. */
import { READING_COLUMNS, REJECTED_COLUMNS } from "../../spec/columns.js";
import type { JsonPathStep } from "../../spec/json-path.js";
import type { ParseMessagesNode } from "../../plan/nodes.js";
import { CORRUPT_RECORD_MEMBER, messageSchemaDdl } from "./spark-types.js";
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

function eventTimeExpression(node: ParseMessagesNode): string {
  const field = node.fields.find((f) => f.name === node.eventTime.field)!;
  const value = pathExpression(PARSED, field.path);
  switch (node.eventTime.unit) {
    case "seconds":
      return `timestamp_seconds(${value})`;
    case "milliseconds":
      return field.type === "double" ? `timestamp_millis(CAST(${value} AS BIGINT))` : `timestamp_millis(${value})`;
    case "microseconds":
      return field.type === "double" ? `timestamp_micros(CAST(${value} AS BIGINT))` : `timestamp_micros(${value})`;
    case "iso8601":
      return `to_timestamp(${value})`;
  }
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
