/** Plan column types and message schemas as Spark SQL DDL. */
import { CORRUPT_RECORD_MEMBER, type SchemaNode } from "../../spec/message-schema.js";
import type { ColumnType } from "../../plan/nodes.js";
import { indent, quotedIdentifier } from "./sql-text.js";

const SPARK_TYPES: Readonly<Record<ColumnType, string>> = {
  string: "STRING",
  int: "INT",
  long: "BIGINT",
  double: "DOUBLE",
  boolean: "BOOLEAN",
  timestamp: "TIMESTAMP",
  date: "DATE",
};

export function sparkType(type: ColumnType): string {
  return SPARK_TYPES[type];
}

/**
 * The top-level schema for `from_json`, one member per line; nested structs with more than a
 * few members are laid out over several lines too.
 */
export function messageSchemaDdl(schema: SchemaNode): string {
  if (schema.kind !== "struct") throw new Error("a message schema is a struct");
  const members = [...schema.members].map(([name, node]) => `${quotedIdentifier(name)} ${nodeDdl(node)}`);
  members.push(`${quotedIdentifier(CORRUPT_RECORD_MEMBER)} STRING`);
  return members.join(",\n");
}

function nodeDdl(node: SchemaNode): string {
  switch (node.kind) {
    case "leaf":
      return sparkType(node.type);
    case "array":
      return `ARRAY<${nodeDdl(node.element)}>`;
    case "struct": {
      const members = [...node.members].map(([name, child]) => `${quotedIdentifier(name)}: ${nodeDdl(child)}`);
      return members.length <= 3 ? `STRUCT<${members.join(", ")}>` : `STRUCT<\n${indent(members.join(",\n"))}\n>`;
    }
  }
}
