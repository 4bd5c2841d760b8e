/**
 * What an upload changes: the devices added, removed, and changed (which columns), between the
 * registry the pipeline reads now and the one replacing it, each read as Spark reads it.
 */
import { columnIndex, type RegistryCsv, type RegistryShape } from "./registry-csv.js";

export interface Device {
  readonly key: string;
  /** Values by column name (the diff's column names), as Spark reads them. */
  readonly values: ReadonlyMap<string, string>;
}

export interface DeviceChange {
  readonly key: string;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly before: string; readonly after: string }>;
}

export interface RegistryDiff {
  /** The columns compared: the spec's, then any other of either file. */
  readonly columns: readonly string[];
  readonly added: readonly Device[];
  readonly removed: readonly Device[];
  readonly changed: readonly DeviceChange[];
  readonly unchanged: number;
}

/** `before` undefined: there was no registry yet, so every device is added. */
export function diffRegistries(before: RegistryCsv | undefined, after: RegistryCsv, shape: RegistryShape): RegistryDiff {
  const columns = diffColumns([after, ...(before === undefined ? [] : [before])], shape);
  const old = before === undefined ? new Map<string, Device>() : devicesOf(before, shape, columns);
  const now = devicesOf(after, shape, columns);
  const changed: DeviceChange[] = [];
  let unchanged = 0;
  for (const device of now.values()) {
    const was = old.get(device.key);
    if (was === undefined) continue;
    const differences = columns
      .map((name) => ({ name, before: was.values.get(name) ?? "", after: device.values.get(name) ?? "" }))
      .filter((c) => c.before !== c.after);
    if (differences.length === 0) unchanged++;
    else changed.push({ key: device.key, columns: differences });
  }
  return {
    columns,
    added: [...now.values()].filter((d) => !old.has(d.key)),
    removed: [...old.values()].filter((d) => !now.has(d.key)),
    changed,
    unchanged,
  };
}

/** One line per added, removed and changed device. */
export function formatDiff(diff: RegistryDiff, shape: RegistryShape): string[] {
  const described = (device: Device) => shape.columns.map((c) => `${c} ${JSON.stringify(device.values.get(c) ?? "")}`).join(", ");
  return [
    ...diff.added.map((d) => `added    ${d.key}: ${described(d)}`),
    ...diff.removed.map((d) => `removed  ${d.key}: ${described(d)}`),
    ...diff.changed.map(
      (c) => `changed  ${c.key}: ${c.columns.map((col) => `${col.name} ${JSON.stringify(col.before)} -> ${JSON.stringify(col.after)}`).join(", ")}`,
    ),
  ];
}

export function diffSummary(diff: RegistryDiff): string {
  return `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`;
}

/** The spec's columns under the spec's names, then every other column of the files, once (names match case-insensitively, as in Spark). */
function diffColumns(files: readonly RegistryCsv[], shape: RegistryShape): string[] {
  const columns = [...shape.columns];
  const known = (name: string) => name === "" || name.toLowerCase() === shape.key.toLowerCase() || columns.some((c) => c.toLowerCase() === name.toLowerCase());
  for (const file of files) for (const name of file.header) if (!known(name)) columns.push(name);
  return columns;
}

/**
 * The devices of a registry by key. A key on several rows (possible in a registry uploaded before
 * it was checked) resolves as the pipeline resolves it: the row with the smallest values of the
 * spec's columns (`min(struct(...))` in the registry_devices view; Spark orders strings by their
 * UTF-8 bytes and nulls first).
 */
function devicesOf(registry: RegistryCsv, shape: RegistryShape, columns: readonly string[]): Map<string, Device> {
  const key = columnIndex(registry.header, shape.key);
  const devices = new Map<string, Device>();
  if (key < 0) return devices;
  const indexes = columns.map((name) => columnIndex(registry.header, name));
  for (const row of registry.rows) {
    const id = row.values[key] ?? "";
    if (id.trim() === "") continue;
    const values = new Map(columns.map((name, i) => [name, indexes[i]! < 0 ? "" : (row.values[indexes[i]!] ?? "")]));
    const device = { key: id, values };
    const earlier = devices.get(id);
    if (earlier === undefined || compareRows(device, earlier, shape.columns) < 0) devices.set(id, device);
  }
  return devices;
}

function compareRows(a: Device, b: Device, columns: readonly string[]): number {
  for (const column of columns) {
    const x = a.values.get(column) ?? "";
    const y = b.values.get(column) ?? "";
    // An empty value is null to Spark's CSV reader, and nulls sort first.
    const order = x === y ? 0 : x === "" ? -1 : y === "" ? 1 : Buffer.compare(Buffer.from(x), Buffer.from(y));
    if (order !== 0) return order;
  }
  return 0;
}
