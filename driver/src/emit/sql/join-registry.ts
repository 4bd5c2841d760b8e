/** join-registry: readings LEFT JOIN devices, and the first rule each rejected reading breaks. */
import { READING_COLUMNS, REJECTED_COLUMNS } from "../../spec/columns.js";
import { formatJsonPath } from "../../spec/json-path.js";
import type { JoinRegistryNode, RejectRule } from "../../plan/nodes.js";
import { MALFORMED_COLUMN } from "./parse-messages.js";
import { caseWhen, identifier, select, stringLiteral } from "./sql-text.js";

const READING = "reading";
const DEVICE = "device";

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
    case "missing-event-time":
      return [
        `${READING}.${READING_COLUMNS.eventTime} IS NULL`,
        stringLiteral(`missing or invalid event time ${rule.field} (${formatJsonPath(rule.path)})`),
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
