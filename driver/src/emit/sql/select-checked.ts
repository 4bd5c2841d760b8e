/** select-checked: the valid rows, or the rejected rows with the dead-letter columns. */
import { READING_COLUMNS, REJECTED_COLUMNS } from "../../spec/columns.js";
import type { SelectCheckedNode } from "../../plan/nodes.js";
import { identifier, select } from "./sql-text.js";

export function selectCheckedSql(node: SelectCheckedNode): string {
  const reason = REJECTED_COLUMNS.reason;
  const columns = node.columns.map((c) =>
    c === REJECTED_COLUMNS.kafkaDate ? `to_date(${READING_COLUMNS.kafkaTimestamp}) AS ${c}` : identifier(c),
  );
  return select({
    columns,
    from: node.from,
    where: node.outcome === "valid" ? `${reason} IS NULL` : `${reason} IS NOT NULL`,
  });
}
