/**
 * Spark SQL text: identifiers, literals and a small formatter that lays out SELECT statements
 * the same way every time (one item per line, two-space indentation).
 */

/**
 * Words that Spark cannot take as a bare identifier in some mode, plus the keywords that would
 * read ambiguously. Anything else matching [A-Za-z_][A-Za-z0-9_]* is written bare.
 * https://spark.apache.org/docs/3.5.1/sql-ref-ansi-compliance.html#sql-keywords-optional-disabled-by-default
 */
const RESERVED = new Set(
  (
    "all and any array as asc authorization between both by case cast check collate column constraint create cross " +
    "current_date current_time current_timestamp current_user delete desc distinct else end escape except exists " +
    "false fetch filter for foreign from full grant group having in inner insert intersect interval into is join " +
    "lateral leading left like limit map minus natural not null of offset on only or order outer overlaps primary " +
    "references right rlike select semi session_user some struct table then time to trailing true union unique " +
    "unknown update user using values when where window with"
  ).split(" "),
);

export function identifier(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name.toLowerCase())) return name;
  return "`" + name.replace(/`/g, "``") + "`";
}

/** Always back-quoted: for names that come from messages rather than from the spec. */
export function quotedIdentifier(name: string): string {
  return "`" + name.replace(/`/g, "``") + "`";
}

/**
 * A Spark string literal. Spark unescapes backslash sequences in literals by default
 * (spark.sql.parser.escapedStringLiterals=false), so backslashes and quotes are escaped.
 * https://spark.apache.org/docs/3.5.1/sql-ref-literals.html#string-literal
 */
export function stringLiteral(text: string, options: { multiline?: boolean } = {}): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
  return (
    "'" +
    (options.multiline === true ? escaped : escaped.replace(/\n/g, "\\n"))
      .replace(/\r/g, "\\r")
      .replace(/\t/g, "\\t") +
    "'"
  );
}

export function indent(text: string, by = 2): string {
  const pad = " ".repeat(by);
  return text
    .split("\n")
    .map((line) => (line === "" ? line : pad + line))
    .join("\n");
}

export interface SelectParts {
  readonly columns: readonly string[];
  /** A relation name with optional alias, or a nested statement (put in parentheses). */
  readonly from: string | { readonly subquery: string; readonly alias: string };
  readonly joins?: readonly string[];
  readonly where?: string;
  readonly groupBy?: readonly string[];
}

export function select(parts: SelectParts): string {
  const lines = ["SELECT", parts.columns.map((c) => indent(c)).join(",\n")];
  if (typeof parts.from === "string") lines.push(`FROM ${parts.from}`);
  else lines.push("FROM (", indent(parts.from.subquery), `) AS ${parts.from.alias}`);
  for (const join of parts.joins ?? []) lines.push(join);
  if (parts.where !== undefined) lines.push(`WHERE ${parts.where}`);
  if (parts.groupBy !== undefined && parts.groupBy.length > 0) {
    lines.push("GROUP BY", parts.groupBy.map((g) => indent(g)).join(",\n"));
  }
  return lines.join("\n");
}

/** `expr AS name`, leaving out the alias when the expression already is that column. */
export function as(expression: string, name: string): string {
  const alias = identifier(name);
  return expression === alias || expression.endsWith(`.${alias}`) ? expression : `${expression} AS ${alias}`;
}

/** A CASE expression laid out one branch per line. */
export function caseWhen(branches: ReadonlyArray<readonly [string, string]>, otherwise?: string): string {
  const lines = ["CASE", ...branches.map(([when, then]) => indent(`WHEN ${when} THEN ${then}`))];
  if (otherwise !== undefined) lines.push(indent(`ELSE ${otherwise}`));
  lines.push("END");
  return lines.join("\n");
}
