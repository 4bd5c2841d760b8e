/**
 * line-protocol: rows -> InfluxDB line protocol, `measurement,tag=v field=1.5,n=3i <ms>`.
 * https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
 *
 * Every tag and field is one `concat(...)`, which is null when its value is null, and
 * `concat_ws` skips nulls; that is how absent values disappear from a line.
 * - Tag values escape comma, equals and space; an empty tag value counts as absent (InfluxDB
 *   rejects empty tag values).
 * - String fields are quoted, escaping double quote and backslash.
 * - A line cannot hold a newline: carriage returns and newlines become spaces in tags and strings.
 * - NaN and infinite numbers are left out (InfluxDB stores neither), a correlation together with
 *   its pair count; a point left without fields is not written.
 * - Integers carry the `i` suffix so a field's type never changes between points.
 */
import type { LineField, LineProtocolNode } from "../../plan/nodes.js";
import { identifier, indent, select, stringLiteral } from "./sql-text.js";

/** Escapes a measurement name (commas and spaces) at compile time. */
export function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, "\\$&");
}

/** Escapes a tag key, tag value or field key (commas, equals signs and spaces). */
export function escapeKey(name: string): string {
  return name.replace(/[,= ]/g, "\\$&");
}

/** `translate` maps CR and LF to spaces; the regex puts a backslash before , = and space. */
function tagValueSql(expression: string): string {
  return `regexp_replace(translate(${expression}, '\\r\\n', '  '), '([,= ])', '\\\\\\\\$1')`;
}

function stringValueSql(expression: string): string {
  return `regexp_replace(translate(${expression}, '\\r\\n', '  '), '(["\\\\\\\\])', '\\\\\\\\$1')`;
}

/** Casting NaN or an infinity to text gives "NaN", "Infinity", "-Infinity". */
const NOT_FINITE = "'=-?(NaN|Infinity)(,|$)'";

function pieceSql(field: LineField): string {
  const column = identifier(field.column);
  const key = (k: string): string => stringLiteral(`${escapeKey(k)}=`);
  switch (field.type) {
    case "int":
    case "long":
      return `concat(${key(field.key)}, ${column}, 'i')`;
    case "timestamp":
      return `concat(${key(field.key)}, unix_millis(${column}), 'i')`;
    case "double":
    case "boolean":
      if (field.companion !== undefined) {
        const companion = stringLiteral(`,${escapeKey(field.companion.key)}=`);
        return `concat(${key(field.key)}, ${column}, ${companion}, ${identifier(field.companion.column)}, 'i')`;
      }
      return `concat(${key(field.key)}, ${column})`;
    case "string":
    case "date":
      return `concat(${stringLiteral(`${escapeKey(field.key)}="`)}, ${stringValueSql(field.type === "date" ? `CAST(${column} AS STRING)` : column)}, '"')`;
  }
}

function list(items: readonly string[]): string {
  return items.length === 0 ? "" : `\n${indent(items.join(",\n"))}\n`;
}

function fieldsSql(fields: readonly LineField[]): string {
  const doubles = fields.filter((f) => f.type === "double").map(pieceSql);
  const others = fields.filter((f) => f.type !== "double").map(pieceSql);
  const parts = [`','`, ...others];
  if (doubles.length > 0) parts.push(`filter(array(${list(doubles)}), piece -> piece NOT RLIKE ${NOT_FINITE})`);
  return `concat_ws(${list(parts)})`;
}

export function lineProtocolSql(node: LineProtocolNode): string {
  const fieldColumn = (i: number): string => `fields_${i}`;
  const tagParts = [
    ...node.tags.map((tag) => {
      const text = tag.type === "string" ? identifier(tag.column) : `CAST(${identifier(tag.column)} AS STRING)`;
      return `concat(${stringLiteral(`,${escapeKey(tag.key)}=`)}, ${tagValueSql(`nullif(${text}, '')`)})`;
    }),
    ...node.constantTags.map((t) => stringLiteral(`,${escapeKey(t.key)}=${escapeKey(t.value)}`)),
  ];
  const parts = select({
    columns: [
      `concat_ws(${list(["''", ...tagParts])}) AS tags`,
      ...node.points.map((p, i) => `${fieldsSql(p.fields)} AS ${fieldColumn(i)}`),
      `CAST(unix_millis(${identifier(node.timestampColumn)}) AS STRING) AS ts`,
    ],
    from: node.from,
  });
  const line = (i: number): string =>
    `concat(${stringLiteral(escapeMeasurement(node.points[i]!.measurement))}, tags, ' ', ${fieldColumn(i)}, ' ', ts)`;
  if (node.points.length === 1) {
    return select({ columns: [`${line(0)} AS line`], from: { subquery: parts, alias: "point" }, where: `${fieldColumn(0)} != ''` });
  }
  const candidates = node.points.map((_, i) => `IF(${fieldColumn(i)} = '', NULL, ${line(i)})`);
  const exploded = select({
    columns: [`explode(array(${list(candidates)})) AS line`],
    from: { subquery: parts, alias: "point" },
  });
  return select({ columns: ["line"], from: { subquery: exploded, alias: "points" }, where: "line IS NOT NULL" });
}
