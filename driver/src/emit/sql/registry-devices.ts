/** registry-devices: one row per device key. */
import type { RegistryDevicesNode } from "../../plan/nodes.js";
import { identifier, select } from "./sql-text.js";

/**
 * A registry listing a device twice would duplicate its readings in the join. `min(struct(...))`
 * keeps one whole row per key, the same one on every run.
 */
export function registryDevicesSql(node: RegistryDevicesNode): string {
  const key = identifier(node.key);
  const columns = node.columns.map(identifier);
  const grouped = select({
    columns: [key, `min(struct(${columns.join(", ")})) AS device`],
    from: node.from,
    where: `${key} IS NOT NULL`,
    groupBy: [key],
  });
  return select({
    columns: [key, ...columns.map((c) => `device.${c} AS ${c}`)],
    from: { subquery: grouped, alias: "devices" },
  });
}
