/** join-registry: readings LEFT JOIN devices, and the first rule each rejected reading breaks. */
import { READING_COLUMNS, REJECTED_COLUMNS } from "../../spec/columns.js";
import { formatJsonPath } from "../../spec/json-path.js";
import type { JoinRegistryNode, RejectRule } from "../../plan/nodes.js";
import { EVENT_TIME_LAST_DAY, type TimeUnit } from "../../spec/pipeline-schema.js";
import { MALFORMED_COLUMN } from "./parse-messages.js";
import { caseWhen, identifier, select, stringLiteral } from "./sql-text.js";

const READING = "reading";
const DEVICE = "device";

const UNIT_TEXT: Readonly<Record<TimeUnit, string>> = {
  seconds: "epoch seconds",
  milliseconds: "epoch milliseconds",
  microseconds: "epoch microseconds",
  iso8601: "an ISO-8601 time",
};

function ruleSql(rule: RejectRule, node: JoinRegistryNode): [string, string] {
  switch (rule.kind) {
    case "malformed":
      // The parser also flags well-formed JSON whose value has the wrong type; a second parse,
      // run only for flagged rows, tells the two apart for the operator.
      return [
        `${READING}.${MALFORMED_COLUMN}`,
        `IF(json_object_keys(${READING}.${REJECTED_COLUMNS.message}) IS NULL, 'malformed JSON: not a JSON object', 'a value does not match its declared type')`,
      ];
    case "missing-field":
      return [
        `${READING}.${identifier(rule.field)} IS NULL`,
        stringLiteral(`missing required field ${rule.field} (${formatJsonPath(rule.path)})`),
      ];
    // Spark's JSON parser takes "NaN", NaN, "Infinity" and "-INF" for a DOUBLE (allowNonNumericNumbers
    // is on by default): such a value would be stored, left out of its line, and turn every
    // mean, stddev and correlation of its windows into NaN, silently.
    // https://spark.apache.org/docs/3.5.1/sql-data-sources-json.html#data-source-option
    case "not-finite":
      return [
        `isnan(${READING}.${identifier(rule.field)}) OR abs(${READING}.${identifier(rule.field)}) = double('Infinity')`,
        stringLiteral(`not a finite number: ${rule.field} (${formatJsonPath(rule.path)})`),
      ];
    // The raw field is null: missing. It is there but parse-messages made no time of it: out
    // of range. Each has its own reason, so an operator can tell a device that sends no time
    // from one whose clock is wrong.
    case "missing-event-time":
      return [
        `${READING}.${identifier(rule.field)} IS NULL`,
        stringLiteral(`missing or invalid event time ${rule.field} (${formatJsonPath(rule.path)})`),
      ];
    case "event-time-out-of-range":
      return [
        `${READING}.${READING_COLUMNS.eventTime} IS NULL`,
        stringLiteral(
          `event time ${rule.eventTime.field} (${formatJsonPath(rule.path)}) is out of range: ` +
            `not ${UNIT_TEXT[rule.eventTime.unit]} from ${rule.eventTime.notBefore.text} to ${EVENT_TIME_LAST_DAY}`,
        ),
      ];
    // Written as a subtraction from the range-checked event time, which cannot overflow even
    // under ANSI mode, rather than an addition to the Kafka timestamp, which comes from the
    // producer and can be anything.
    case "event-time-ahead":
      return [
        `unix_millis(${READING}.${READING_COLUMNS.eventTime}) - ${rule.maxAhead.ms} > unix_millis(${READING}.${READING_COLUMNS.kafkaTimestamp})`,
        stringLiteral(`event time ${rule.field} (${formatJsonPath(rule.path)}) is more than ${rule.maxAhead.text} ahead of its Kafka timestamp`),
      ];
    case "unregistered":
      return [`${DEVICE}.${identifier(node.key)} IS NULL`, stringLiteral(`device not in the registry`)];
  }
}

export function joinRegistrySql(node: JoinRegistryNode): string {
  const reading = (column: string): string => `${READING}.${identifier(column)}`;
  return select({
    columns: [
      reading(READING_COLUMNS.kafkaPartition),
      reading(READING_COLUMNS.kafkaOffset),
      reading(READING_COLUMNS.kafkaTimestamp),
      reading(REJECTED_COLUMNS.message),
      ...node.fields.map(reading),
      ...node.registryColumns.map((c) => `${DEVICE}.${identifier(c)}`),
      reading(READING_COLUMNS.eventTime),
      `to_date(${reading(READING_COLUMNS.eventTime)}) AS ${READING_COLUMNS.eventDate}`,
      `${caseWhen(node.rejectRules.map((rule) => ruleSql(rule, node)))} AS ${REJECTED_COLUMNS.reason}`,
    ],
    from: `${node.readings} AS ${READING}`,
    joins: [`LEFT JOIN ${node.devices} AS ${DEVICE}`, `  ON ${reading(node.joinOn)} = ${DEVICE}.${identifier(node.key)}`],
  });
}
