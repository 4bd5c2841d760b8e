/**
 * Escaping for InfluxDB line protocol, as InfluxDB actually parses it: names at compile time
 * (TypeScript), tag values and string fields at run time (Spark SQL), each SQL expression with a
 * TypeScript twin that the property test (driver/test/e2e/line-protocol-property.e2e.test.ts)
 * checks against Spark and against a real InfluxDB.
 * https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters
 *
 * What InfluxDB does with a backslash (tried against InfluxDB 1.6; 2.x parses with the same
 * code, github.com/influxdata/influxdb models/points.go):
 * - In the measurement and the tags, a character is escaped when the character before it is a
 *   backslash, and a backslash is never an escape for another backslash. `\,`, `\=` and `\ `
 *   read back as `,`, `=` and a space; any other backslash reads back as itself. So a tag value
 *   escapes commas, equals signs and spaces, and its own backslashes stay as they are: `a\,b`
 *   (backslash, comma) is written `a\\,b` and reads back as `a\,b`.
 * - A tag value cannot end with a backslash: the comma or space after it would count as
 *   escaped (`t=B12\ f=1` is refused, "invalid tag format"). And a backslash directly before an
 *   escaped character (`a\\ b`) parses on its own but not inside a request of several lines:
 *   InfluxDB finds line ends by skipping backslash pairs, so it reads that space as unescaped,
 *   can take a later quote as opening a string, and then merges the next line into this one
 *   ("point is invalid", both lines lost). Neither can be written so that it reads back, so a
 *   backslash at the end of a tag value or directly before a comma, equals sign or space is
 *   replaced with U+FFFD (the replacement character): `B12\` is stored as `B12\uFFFD`.
 * - Strings: `\\` and `\"` read back as `\` and `"`, so string fields escape both and every
 *   string reads back exactly, a trailing backslash included.
 * - A newline ends a line, also inside a tag value; carriage returns and newlines become spaces
 *   in tag values and strings, so each row is exactly one line.
 * - Names (measurement, tag and field keys) are checked by validation (spec/influx-names.ts):
 *   no backslash, no control character, no leading "#" for a measurement (InfluxDB reads the
 *   line as a comment). Escaping the rest makes them read back exactly.
 */
import { stringLiteral } from "./sql-text.js";

/** What a tag value's unrepresentable backslash is replaced with. */
export const TAG_VALUE_SUBSTITUTE = "\uFFFD";

/** Escapes a measurement (commas and spaces). */
export function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, "\\$&");
}

/** Escapes a tag key or field key (commas, equals signs and spaces). */
export function escapeKey(name: string): string {
  return name.replace(/[,= ]/g, "\\$&");
}

/** A tag value as written: the TypeScript twin of `tagValueSql`. */
export function escapeTagValue(value: string): string {
  return value
    .replace(/[\r\n]/g, " ")
    .replace(/\\(?=[,= ]|$)/g, TAG_VALUE_SUBSTITUTE)
    .replace(/[,= ]/g, "\\$&");
}

/** A string field's content between its quotes: the TypeScript twin of `stringValueSql`. */
export function escapeStringField(value: string): string {
  return value.replace(/[\r\n]/g, " ").replace(/["\\]/g, "\\$&");
}

/** Carriage return and newline to spaces. */
function oneLineSql(expression: string): string {
  return `translate(${expression}, ${stringLiteral("\r\n")}, ${stringLiteral("  ")})`;
}

/** `replace` for each of `characters`, each preceded by a backslash: plain string search, no regular expression. */
function backslashEscapedSql(expression: string, characters: readonly string[]): string {
  return characters.reduce((sql, c) => `replace(${sql}, ${stringLiteral(c)}, ${stringLiteral(`\\${c}`)})`, expression);
}

/**
 * `escapeTagValue` in Spark SQL. The regular expression (Java's; `\z` is the very end, where `$`
 * would also match before a final U+0085, U+2028 or U+2029) runs only for a value with a
 * backslash; every other value takes plain string replacements, which cost far less per row.
 * https://spark.apache.org/docs/3.5.1/api/sql/index.html#regexp_replace
 */
export function tagValueSql(expression: string): string {
  const value = oneLineSql(expression);
  const substituted = `regexp_replace(${value}, ${stringLiteral("\\\\(?=[,= ]|\\z)")}, '\\uFFFD')`;
  return backslashEscapedSql(`IF(instr(${value}, ${stringLiteral("\\")}) = 0, ${value}, ${substituted})`, [",", "=", " "]);
}

/** `escapeStringField` in Spark SQL: backslashes first, then double quotes. */
export function stringValueSql(expression: string): string {
  return backslashEscapedSql(oneLineSql(expression), ["\\", '"']);
}
