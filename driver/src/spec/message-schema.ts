/**
 * The declared JSON schema of a message, built from the fields' JSON paths. Spark parses each
 * message once with `from_json` and this schema, instead of once per field.
 */
import type { Located } from "./decoders.js";
import type { FieldType } from "./pipeline-schema.js";
import type { JsonPathStep } from "./json-path.js";

/**
 * The top-level member `from_json` fills with the raw text of a record that does not parse
 * (its `columnNameOfCorruptRecord` option). A message member of that name would clash with it.
 */
export const CORRUPT_RECORD_MEMBER = "_corrupt_record";

export type SchemaNode =
  | { readonly kind: "leaf"; readonly type: FieldType }
  | { readonly kind: "struct"; readonly members: ReadonlyMap<string, SchemaNode> }
  | { readonly kind: "array"; readonly element: SchemaNode };

export interface SchemaConflict {
  readonly field: string;
  readonly problem: string;
}

interface MessageFieldInput {
  readonly name: Located<string>;
  readonly value: { readonly path: Located<readonly JsonPathStep[]>; readonly type: Located<FieldType> };
}

type Builder =
  | { kind: "leaf"; type: FieldType; owner: string }
  | { kind: "struct"; members: Map<string, Builder>; owner: string }
  | { kind: "array"; element: Builder | undefined; owner: string };

/** Builds the schema; two fields that need different shapes at one path are a conflict. */
export function buildMessageSchema(fields: readonly MessageFieldInput[]): { schema: SchemaNode; conflicts: SchemaConflict[] } {
  const root: Builder = { kind: "struct", members: new Map(), owner: "" };
  const conflicts: SchemaConflict[] = [];
  for (const field of fields) {
    const steps = field.value.path.value;
    const owner = field.name.value;
    let node: Builder = root;
    for (let i = 0; i < steps.length && node !== undefined; i++) {
      const step = steps[i]!;
      const last = i === steps.length - 1;
      const nextStep = steps[i + 1];
      const make = (): Builder =>
        last
          ? { kind: "leaf", type: field.value.type.value, owner }
          : nextStep!.kind === "index"
            ? { kind: "array", element: undefined, owner }
            : { kind: "struct", members: new Map(), owner };
      const shape = last ? "a value" : nextStep!.kind === "index" ? "an array" : "an object";
      let child: Builder | undefined;
      if (step.kind === "member") {
        if (node.kind !== "struct") break;
        const problem = memberProblem(node, node === root, step.name, steps.slice(0, i + 1));
        if (problem !== undefined) {
          conflicts.push({ field: owner, problem });
          break;
        }
        child = node.members.get(step.name);
        if (child === undefined) node.members.set(step.name, (child = make()));
      } else {
        if (node.kind !== "array") break;
        child = node.element;
        if (child === undefined) node.element = child = make();
      }
      const expectedKind = last ? "leaf" : nextStep!.kind === "index" ? "array" : "struct";
      const sameLeaf = child.kind !== "leaf" || !last || child.type === field.value.type.value;
      if (child.kind !== expectedKind || !sameLeaf) {
        conflicts.push({
          field: owner,
          problem:
            `its path treats ${describe(steps.slice(0, i + 1))} as ${shape}${last ? ` of type ${field.value.type.value}` : ""}, ` +
            `but field "${child.owner}" reads it differently`,
        });
        break;
      }
      node = child;
    }
  }
  return { schema: freeze(root), conflicts };
}

/**
 * Spark resolves struct members without case (spark.sql.caseSensitive is false by default), so
 * members that differ only in case make every reference ambiguous
 * ([AMBIGUOUS_REFERENCE_TO_FIELDS]); and a top-level member named like the corrupt-record
 * column makes `from_json` refuse the schema or lose the value.
 */
function memberProblem(struct: Extract<Builder, { kind: "struct" }>, atRoot: boolean, name: string, steps: readonly JsonPathStep[]): string | undefined {
  if (atRoot && name.toLowerCase() === CORRUPT_RECORD_MEMBER) {
    return `its path reads ${describe(steps)}, but "${CORRUPT_RECORD_MEMBER}" is the column Spark's JSON parser keeps unparseable messages in`;
  }
  for (const [other, builder] of struct.members) {
    if (other !== name && other.toLowerCase() === name.toLowerCase()) {
      return (
        `its path reads ${describe(steps)}, which differs only in case from ` +
        `${describe([...steps.slice(0, -1), { kind: "member", name: other }])} read by field "${builder.owner}" (Spark compares member names without case)`
      );
    }
  }
  return undefined;
}

function describe(steps: readonly JsonPathStep[]): string {
  return "$" + steps.map((s) => (s.kind === "index" ? `[${s.index}]` : `.${s.name}`)).join("");
}

function freeze(builder: Builder): SchemaNode {
  if (builder.kind === "leaf") return { kind: "leaf", type: builder.type };
  if (builder.kind === "array") {
    return { kind: "array", element: builder.element === undefined ? { kind: "leaf", type: "string" } : freeze(builder.element) };
  }
  return { kind: "struct", members: new Map([...builder.members].map(([k, v]) => [k, freeze(v)])) };
}
