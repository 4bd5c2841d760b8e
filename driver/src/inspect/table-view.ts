/**
 * Rows as an Arrow table, printed as a text table for the terminal: the columns asked for, cells
 * cut to a readable width.
 */
import { tableFromJSON, type Table } from "apache-arrow";
import type { Row } from "./sink-files.js";

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return Number(value);
  return value;
}

export function toArrow(rows: readonly Row[], columns: readonly string[]): Table {
  return tableFromJSON(rows.map((row) => Object.fromEntries(columns.map((c) => [c, plain(row[c]) ?? null]))));
}

function cell(value: unknown, width: number): string {
  const text = value === null || value === undefined ? "" : String(value).replace(/\s+/g, " ");
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

export function renderTable(table: Table, maxWidth = 48): string {
  const names = table.schema.fields.map((f) => f.name);
  const rows: string[][] = [];
  for (let i = 0; i < table.numRows; i++) rows.push(names.map((name) => cell(table.getChild(name)?.get(i), maxWidth)));
  const widths = names.map((name, c) => Math.max(name.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, c) => text.padEnd(widths[c]!))
      .join("  ")
      .trimEnd();
  return [line(names), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
