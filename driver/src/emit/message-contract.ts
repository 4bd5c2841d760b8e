/**
 * The message contract: what the ingestion proxy checks before a reading goes to Kafka, emitted
 * from the same plan as the SQL, so the proxy refuses at the door what the pipeline would reject
 * and nothing it would accept. Its centre is a JSON Schema (draft 2020-12) of one reading; the
 * rest is what a schema cannot say: where the event time is, its unit and earliest day (the
 * proxy also compares it with its clock), and which field is the device id (the Kafka key).
 *
 * The schema follows how Spark's `from_json` reads the declared schema, not a stricter idea of
 * JSON types, because a reading the proxy refuses is lost while one the pipeline rejects is kept
 * in the dead letters:
 * - a `string` field takes any JSON value (Spark keeps a number or an object as its JSON text,
 *   so `"DevEui": 42` is the device "42");
 * - `int`, `long` and `double` take numbers only, integers within the type's range for `int`
 *   and `long`, and `boolean` takes true and false: any other value makes Spark flag the whole
 *   record as not matching its declared type;
 * - an object or array on a field's path must be one (or null), and every element of an array
 *   has the element's shape (Spark reads `ARRAY<STRUCT<...>>` element by element);
 * - null is the same as missing; required fields, the device id and the event time must be there.
 */
import { formatJsonPath } from "../spec/json-path.js";
import { EVENT_TIME_LAST_DAY, type FieldType, type TimeUnit } from "../spec/pipeline-schema.js";
import type { JoinRegistryNode, KafkaSourceNode, MessageField, ParseMessagesNode, PlanNode, RejectRule, Template } from "../plan/nodes.js";

export type JsonSchema = { readonly [keyword: string]: unknown };

export interface ContractField {
  readonly name: string;
  /** The JSON path as written in a spec, e.g. `$.GWInfo[0].sendtime`. */
  readonly path: string;
  /** The same path as member names and array indexes. */
  readonly pointer: readonly (string | number)[];
  readonly type: FieldType;
  /** Required by the spec, or the device id, or the event time: the pipeline rejects a reading without it. */
  readonly required: boolean;
}

export interface MessageContract {
  readonly pipeline: string;
  readonly specFile: string;
  readonly schema: JsonSchema;
  readonly fields: readonly ContractField[];
  readonly eventTime: {
    readonly field: string;
    readonly unit: TimeUnit;
    /** `notBefore` as written, and as epoch milliseconds (UTC midnight). */
    readonly notBefore: string;
    readonly notBeforeMs: number;
    /** The last millisecond Spark's timestamps reach (end of year 9999). */
    readonly lastMs: number;
    /**
     * How far ahead of the receiving clock an event time may be: the spec's `maxAhead` (which the
     * pipeline compares with the Kafka timestamp), but at least a day, so that the proxy never
     * refuses what the pipeline accepts and leaves the finer judgement to it.
     */
    readonly maxAheadOfClock: { readonly ms: number; readonly text: string };
  };
  /** The field matched against the registry: the device id, used as the Kafka message key. */
  readonly deviceKey: string;
  /** Where the pipeline reads, with `${VAR}` templates as written. */
  readonly kafka: { readonly bootstrapServers: Template; readonly topic: Template };
}

/** The least `maxAheadOfClock`: senders' clocks and the proxy's may differ by hours. */
export const MIN_AHEAD_OF_CLOCK_MS = 86_400_000;

const LAST_MS = Date.parse(`${EVENT_TIME_LAST_DAY}T00:00:00Z`) + 86_400_000 - 1;

/** Units of each numeric encoding per millisecond, as BigInt so microseconds stay exact. */
const PER_MILLISECOND: Readonly<Record<Exclude<TimeUnit, "iso8601">, { times: bigint; over: bigint }>> = {
  seconds: { times: 1n, over: 1000n },
  milliseconds: { times: 1n, over: 1n },
  microseconds: { times: 1000n, over: 1n },
};

const UNIT_TEXT: Readonly<Record<TimeUnit, string>> = {
  seconds: "epoch seconds",
  milliseconds: "epoch milliseconds",
  microseconds: "epoch microseconds",
  iso8601: "an ISO-8601 time",
};

/** JSON Schema types and Spark's ranges of each field type. */
const LEAF: Readonly<Record<Exclude<FieldType, "string">, { type: string; range?: { minimum: number; maximum?: number; exclusiveMaximum?: number } }>> = {
  int: { type: "integer", range: { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 } },
  // 2^63 - 1 is not a double; the bound is exclusive so that 2^63, which overflows a long, is out.
  long: { type: "integer", range: { minimum: -(2 ** 63), exclusiveMaximum: 2 ** 63 } },
  double: { type: "number" },
  boolean: { type: "boolean" },
};

export function messageContract(plan: PlanNode): MessageContract {
  const parse = plan.views.map((v) => v.body).find((b): b is ParseMessagesNode => b.kind === "parse-messages");
  const join = plan.views.map((v) => v.body).find((b): b is JoinRegistryNode => b.kind === "join-registry");
  const kafka = plan.sources.find((s): s is KafkaSourceNode => s.kind === "kafka-source");
  if (parse === undefined || join === undefined || kafka === undefined) {
    throw new Error(`plan ${plan.pipeline} has no Kafka source, parse-messages or join-registry view`);
  }
  const eventTime = parse.eventTime;
  const aheadRule = join.rejectRules.find((r): r is Extract<RejectRule, { kind: "event-time-ahead" }> => r.kind === "event-time-ahead");
  const maxAheadOfClock =
    aheadRule !== undefined && aheadRule.maxAhead.ms > MIN_AHEAD_OF_CLOCK_MS
      ? { ms: aheadRule.maxAhead.ms, text: aheadRule.maxAhead.text }
      : { ms: MIN_AHEAD_OF_CLOCK_MS, text: "1 day" };
  const fields: ContractField[] = parse.fields.map((f) => ({
    name: f.name,
    path: formatJsonPath(f.path),
    pointer: f.path.map((s) => (s.kind === "index" ? s.index : s.name)),
    type: f.type,
    required: f.required || f.name === join.joinOn || f.name === eventTime.field,
  }));
  const root = trieOf(parse.fields, fields);
  const schema: Record<string, unknown> = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: `A reading of pipeline ${plan.pipeline}`,
    description:
      `Generated by sensor-streaming from ${plan.specFile}. One JSON object per reading; members the spec does not name are allowed. ` +
      `Besides this schema, the event time ${eventTime.field} may not be more than ${maxAheadOfClock.text} ahead of the receiving clock, ` +
      `and integers beyond 2^53 are refused (they cannot be carried exactly).`,
    ...nodeSchema(root, true, { eventTime: eventTime.field, unit: eventTime.unit, notBeforeMs: eventTime.notBefore.ms }),
  };
  return {
    pipeline: plan.pipeline,
    specFile: plan.specFile,
    schema,
    fields,
    eventTime: {
      field: eventTime.field,
      unit: eventTime.unit,
      notBefore: eventTime.notBefore.text,
      notBeforeMs: eventTime.notBefore.ms,
      lastMs: LAST_MS,
      maxAheadOfClock,
    },
    deviceKey: join.joinOn,
    kafka: { bootstrapServers: kafka.bootstrapServers, topic: kafka.topic },
  };
}

/** How an event time is written, for messages: "epoch milliseconds from 2000-01-01 to 9999-12-31". */
export function eventTimeRangeText(contract: MessageContract): string {
  return `${UNIT_TEXT[contract.eventTime.unit]} from ${contract.eventTime.notBefore} to ${EVENT_TIME_LAST_DAY}`;
}

/** The fields' paths as a tree; each array index is its own child (only some may be required). */
interface Trie {
  field?: ContractField;
  readonly members: Map<string, Trie>;
  readonly indices: Map<number, Trie>;
}

function trieOf(planFields: readonly MessageField[], fields: readonly ContractField[]): Trie {
  const root: Trie = { members: new Map(), indices: new Map() };
  planFields.forEach((planField, i) => {
    let node = root;
    for (const step of planField.path) {
      const children: Map<string | number, Trie> = step.kind === "index" ? node.indices : node.members;
      const key = step.kind === "index" ? step.index : step.name;
      let child = children.get(key);
      if (child === undefined) children.set(key, (child = { members: new Map(), indices: new Map() }));
      node = child;
    }
    node.field = fields[i];
  });
  return root;
}

interface EventTimeInfo {
  readonly eventTime: string;
  readonly unit: TimeUnit;
  readonly notBeforeMs: number;
}

function isRequired(node: Trie): boolean {
  return node.field?.required === true || [...node.members.values(), ...node.indices.values()].some(isRequired);
}

/** Every index's subtree merged into one, with nothing required: the shape all elements share. */
function mergedElement(node: Trie): Trie | undefined {
  const merged: Trie = { members: new Map(), indices: new Map() };
  let any = false;
  const add = (into: Trie, from: Trie): void => {
    if (from.field !== undefined) into.field = { ...from.field, required: false };
    for (const [name, child] of from.members) {
      let target = into.members.get(name);
      if (target === undefined) into.members.set(name, (target = { members: new Map(), indices: new Map() }));
      add(target, child);
    }
    for (const [index, child] of from.indices) {
      let target = into.indices.get(index);
      if (target === undefined) into.indices.set(index, (target = { members: new Map(), indices: new Map() }));
      add(target, child);
    }
  };
  for (const child of node.indices.values()) {
    add(merged, child);
    any = true;
  }
  return any ? merged : undefined;
}

function typeOf(name: string, present: boolean): string | string[] {
  return present ? name : [name, "null"];
}

function nodeSchema(node: Trie, present: boolean, time: EventTimeInfo | undefined): Record<string, unknown> {
  if (node.field !== undefined) return leafSchema(node.field, present, time);
  if (node.indices.size > 0) {
    const element = mergedElement(node)!;
    const last = Math.max(...node.indices.keys());
    // Only the indexed element's field is the event time; the others are plain values of its type.
    const elementSchema = nodeSchema(element, false, undefined);
    const prefix = Array.from({ length: last + 1 }, (_, i) => {
      const child = node.indices.get(i);
      return child === undefined ? elementSchema : nodeSchema(child, isRequired(child), time);
    });
    const requiredIndices = [...node.indices].filter(([, child]) => isRequired(child)).map(([i]) => i);
    return {
      type: typeOf("array", present),
      prefixItems: prefix,
      items: elementSchema,
      ...(requiredIndices.length > 0 ? { minItems: Math.max(...requiredIndices) + 1 } : {}),
    };
  }
  const properties = Object.fromEntries([...node.members].map(([name, child]) => [name, nodeSchema(child, isRequired(child), time)]));
  const required = [...node.members].filter(([, child]) => isRequired(child)).map(([name]) => name);
  return { type: typeOf("object", present), properties, ...(required.length > 0 ? { required } : {}) };
}

function leafSchema(field: ContractField, present: boolean, time: EventTimeInfo | undefined): Record<string, unknown> {
  const notes = [`${field.type}${field.required ? ", required" : ""}`];
  if (field.type === "string") {
    notes.push("a value that is not a string is kept as its JSON text, as Spark reads it");
    if (time !== undefined && field.name === time.eventTime) notes.push(`the event time, as ${UNIT_TEXT[time.unit]}`);
    return { title: field.name, description: notes.join("; "), ...(present ? { not: { type: "null" } } : {}) };
  }
  const leaf = LEAF[field.type];
  const schema: Record<string, unknown> = { title: field.name, type: typeOf(leaf.type, present), ...leaf.range };
  if (time !== undefined && field.name === time.eventTime && time.unit !== "iso8601") {
    // The range the pipeline accepts, in the field's unit (parse-messages checks the same).
    const { times, over } = PER_MILLISECOND[time.unit];
    const inUnit = (ms: bigint): number => Number((ms * times) / over);
    schema.minimum = inUnit(BigInt(time.notBeforeMs));
    delete schema.exclusiveMaximum;
    schema.maximum = inUnit(BigInt(LAST_MS));
    notes.push(`the event time, in ${UNIT_TEXT[time.unit]}`);
  }
  return { ...schema, description: notes.join("; ") };
}
