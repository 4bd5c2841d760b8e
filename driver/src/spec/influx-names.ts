/**
 * What InfluxDB accepts as a measurement, tag key, field key or database name. Names are
 * checked at validation time so that a write never fails on a name the spec chose, and every
 * accepted name reads back from InfluxDB exactly as written (the line-protocol property test,
 * driver/test/e2e/line-protocol-property.e2e.test.ts, checks that against a real InfluxDB).
 * https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#naming-restrictions
 * https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
 */

export type InfluxNameKind = "measurement" | "tag key" | "field key";

export function influxNameProblem(name: string, kind: InfluxNameKind): string | undefined {
  if (name.length === 0) return `a ${kind} cannot be empty`;
  if (name.startsWith("_")) return `a ${kind} cannot begin with "_" (InfluxDB reserves that namespace)`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return `a ${kind} cannot contain control characters or newlines`;
  // InfluxDB 1.x skips a line whose first non-blank character is "#", answering 204: every
  // point of that measurement would vanish without an error. Escaping cannot help: "\#" is
  // read back with its backslash.
  if (kind === "measurement" && name.startsWith("#")) return `a ${kind} cannot begin with "#" (InfluxDB reads the line as a comment and drops it)`;
  // Backslash is line protocol's escape character, and InfluxDB 1.x reads it back differently
  // in different places: measurement `a\,b` is listed as `a,b` and loses its field keys, a key
  // ending in a backslash escapes the "=" after it. Tested against InfluxDB 1.6.
  if (name.includes("\\"))
    return `a ${kind} cannot contain a backslash (line protocol's escape character, which InfluxDB does not read back reliably in names)`;
  if (kind !== "measurement" && name === "time") return `"time" cannot be a ${kind} (InfluxDB uses it for the timestamp)`;
  if (Buffer.byteLength(name, "utf8") > 255) return `a ${kind} is limited to 255 bytes here`;
  return undefined;
}

/**
 * What InfluxDB 1.x accepts as a database name (`CREATE DATABASE` answers "invalid name"
 * otherwise): printable characters only (Go's unicode.IsPrint: letters, marks, numbers,
 * punctuation, symbols and the ASCII space), no "/" or "\", not "." or "..". A double quote is
 * fine as long as it is escaped wherever the name is written into InfluxQL (`"a\"b"`).
 * https://github.com/influxdata/influxdb/blob/v1.6.6/services/meta/data.go#L1734 (ValidName)
 */
export function influxDatabaseProblem(name: string): string | undefined {
  if (name.length === 0) return "a database name cannot be empty";
  if (name === "." || name === "..") return `a database cannot be named "${name}"`;
  if (/[/\\]/.test(name)) return 'a database name cannot contain "/" or "\\"';
  if (/[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(name)) return "a database name cannot contain control characters, newlines or spaces other than the plain space";
  return undefined;
}
