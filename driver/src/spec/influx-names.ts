/**
 * What InfluxDB accepts as a measurement, tag key or field key. Names are checked at
 * validation time so that a write never fails on a name the spec chose.
 * https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#naming-restrictions
 * https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
 */

export type InfluxNameKind = "measurement" | "tag key" | "field key";

export function influxNameProblem(name: string, kind: InfluxNameKind): string | undefined {
  if (name.length === 0) return `a ${kind} cannot be empty`;
  if (name.startsWith("_")) return `a ${kind} cannot begin with "_" (InfluxDB reserves that namespace)`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return `a ${kind} cannot contain control characters or newlines`;
  if (kind !== "measurement" && name === "time") return `"time" cannot be a ${kind} (InfluxDB uses it for the timestamp)`;
  if (Buffer.byteLength(name, "utf8") > 255) return `a ${kind} is limited to 255 bytes here`;
  return undefined;
}
