/**
 * Checks one reading against the message contract the compiler emits (emit/message-contract.ts):
 * the JSON Schema with ajv, then the event time against the proxy's clock. Every problem of a
 * reading is reported, each with a code (the label of the rejection metric), the field and its
 * JSON path, and a message worded as the pipeline's dead-letter reasons are.
 *
 * What goes to Kafka is the reading as parsed and written again as compact JSON: the value that
 * was validated is the value Spark parses, so no difference between two JSON parsers (duplicate
 * members, `5.0` for a long) can let through what the pipeline then rejects. JavaScript reads
 * every JSON number as a double, so an integer beyond 2^53 would be written changed
 * (12345678901234567890 as 12345678901234567000): such a reading is refused, except in a
 * `double` field, which Spark reads as the same double either way.
 *
 * A reading the schema calls invalid is never accepted: an error without a reason of its own
 * below still refuses it, with ajv's words.
 */
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { eventTimeRangeText, type ContractField, type MessageContract } from "../emit/message-contract.js";

export const REASON_CODES = [
  "not-an-object",
  "malformed",
  "too-large",
  "missing-field",
  "wrong-type",
  "missing-event-time",
  "event-time-out-of-range",
  "event-time-ahead",
  "unsafe-integer",
  // Given by Kafka when it refuses the write of one reading, not by this validator.
  "record-too-large",
  "record-refused",
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly field?: string;
  readonly path?: string;
}

export type Verdict =
  { readonly ok: true; readonly key: string | undefined; readonly value: string } | { readonly ok: false; readonly reasons: readonly Reason[] };

export interface ValidatorOptions {
  /** The largest reading, as compact JSON, that goes to Kafka as one message. */
  readonly maxReadingBytes: number;
}

export type ReadingValidator = (reading: unknown, nowMs: number) => Verdict;

type Segment = string | number;

const MS_PER_UNIT: Readonly<Record<"seconds" | "milliseconds" | "microseconds", number>> = { seconds: 1000, milliseconds: 1, microseconds: 0.001 };

/**
 * ISO-8601 text as Spark's `try_to_timestamp` reads it without a format. Text this does not
 * match is left to the pipeline: Spark reads a few more shapes (`2024`, `2024-05`), and what it
 * cannot read ends in the dead letters, kept, rather than refused here, lost.
 */
const ISO_TIME = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export function readingValidator(contract: MessageContract, options: ValidatorOptions): ReadingValidator {
  // strictTuples off: the tuples are open on purpose (the pipeline reads the first elements of
  // arrays that may hold more). https://ajv.js.org/strict-mode.html#prohibit-unconstrained-tuples
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictTuples: false });
  const validate = ajv.compile(contract.schema);
  const fields = contract.fields;
  const eventField = fields.find((f) => f.name === contract.eventTime.field)!;
  const keyField = fields.find((f) => f.name === contract.deviceKey)!;
  const maxAhead = contract.eventTime.maxAheadOfClock;

  const missing = (f: ContractField): Reason =>
    f.name === eventField.name
      ? { code: "missing-event-time", field: f.name, path: f.path, message: `missing or invalid event time ${f.name} (${f.path})` }
      : { code: "missing-field", field: f.name, path: f.path, message: `missing required field ${f.name} (${f.path})` };
  const missingUnder = (prefix: readonly Segment[], from = 0): Reason[] =>
    fields
      .filter((f) => f.required && startsWith(f.pointer, prefix) && (prefix.length === 0 || from === 0 || Number(f.pointer[prefix.length]) >= from))
      .map(missing);
  const fieldAt = (at: readonly Segment[]): ContractField | undefined => fields.find((f) => f.pointer.length === at.length && startsWith(f.pointer, at));

  function schemaReasons(errors: readonly ErrorObject[]): Reason[] {
    return errors.flatMap((error) => {
      const reasons = errorReasons(error);
      return reasons.length > 0 ? reasons : [unmapped(error)];
    });
  }

  function errorReasons(error: ErrorObject): Reason[] {
    const at = parsePointer(error.instancePath);
    const field = fieldAt(at);
    switch (error.keyword) {
      case "required":
        return missingUnder([...at, String(error.params.missingProperty)]);
      case "minItems":
        return missingUnder(at, (error.data as unknown[]).length);
      case "not":
        return missingUnder(at);
      case "type":
        if (at.length === 0) return [{ code: "not-an-object", message: `not a JSON object: ${describe(error.data)}` }];
        if (error.data === null) return missingUnder(at);
        if (field !== undefined) return [wrongType(field, `${describe(error.data)}, not ${typeText(field)}`)];
        return [
          {
            code: "wrong-type",
            path: pathText(at),
            message:
              `a value does not match its declared type: ${pathText(at)} is ${describe(error.data)}, ` +
              `but the spec reads ${article(error.params.type)} there`,
          },
        ];
      case "minimum":
      case "maximum":
      case "exclusiveMaximum":
        if (field !== undefined && field.name === eventField.name) {
          return [
            {
              code: "event-time-out-of-range",
              field: field.name,
              path: field.path,
              message: `event time ${field.name} (${field.path}) is out of range: not ${eventTimeRangeText(contract)}`,
            },
          ];
        }
        if (field !== undefined) return [wrongType(field, `${String(error.data)}, out of the range of ${field.type}`)];
        // An element of an array beyond the indexed ones: it has the field's shape, not its name.
        return [];
      default:
        return [];
    }
  }

  /** The event time in epoch milliseconds, or a reason; undefined when the schema already said what is wrong. */
  function eventTimeReason(reading: unknown, nowMs: number): Reason | undefined {
    const value = valueAt(reading, eventField.pointer);
    let ms: number | undefined;
    if (contract.eventTime.unit === "iso8601") {
      const match = typeof value === "string" ? ISO_TIME.exec(value) : null;
      if (match === null) return undefined;
      ms = isoMillis(match);
      if (ms === undefined || ms < contract.eventTime.notBeforeMs || ms > contract.eventTime.lastMs) {
        return {
          code: "event-time-out-of-range",
          field: eventField.name,
          path: eventField.path,
          message: `event time ${eventField.name} (${eventField.path}) is out of range: not ${eventTimeRangeText(contract)}`,
        };
      }
    } else if (typeof value === "number") {
      ms = value * MS_PER_UNIT[contract.eventTime.unit];
    }
    // Out of range is the schema's reason already; only a time in range can be too far ahead.
    if (ms === undefined || !(ms >= contract.eventTime.notBeforeMs && ms <= contract.eventTime.lastMs) || ms - maxAhead.ms <= nowMs) return undefined;
    return {
      code: "event-time-ahead",
      field: eventField.name,
      path: eventField.path,
      message:
        `event time ${eventField.name} (${eventField.path}) is more than ${maxAhead.text} ahead of the proxy's clock: ` +
        `${new Date(ms).toISOString()} at ${new Date(nowMs).toISOString()}`,
    };
  }

  /** Integers a double cannot hold exactly, outside `double` fields, where nothing else was found wrong. */
  function unsafeIntegerReasons(reading: unknown, found: readonly Reason[]): Reason[] {
    const out: Reason[] = [];
    for (const at of unsafeIntegerPaths(reading)) {
      const field = fieldAt(at);
      const path = field?.path ?? pathText(at);
      if (field?.type === "double" || found.some((r) => r.path === path)) continue;
      const where = field === undefined ? path : `${field.name} (${path})`;
      out.push({
        code: "unsafe-integer",
        ...(field === undefined ? {} : { field: field.name }),
        path,
        message:
          `${where} is an integer beyond 2^53, which cannot be carried exactly ` +
          `(it would be written as ${String(valueAt(reading, at))}); send it as a string`,
      });
    }
    return out;
  }

  return (reading, nowMs) => {
    const valid = validate(reading);
    const reasons = valid ? [] : schemaReasons(validate.errors ?? []);
    // ajv lists an error whenever it says invalid; should it not, the reading is refused all the same.
    if (!valid && reasons.length === 0) reasons.push({ code: "wrong-type", message: "the reading does not match the message schema" });
    reasons.push(...unsafeIntegerReasons(reading, reasons));
    if (typeof reading === "object" && reading !== null && !Array.isArray(reading)) {
      const ahead = eventTimeReason(reading, nowMs);
      if (ahead !== undefined && !reasons.some((r) => r.field === eventField.name)) reasons.push(ahead);
    }
    let value: string | undefined;
    if (reasons.length === 0) {
      try {
        value = JSON.stringify(reading);
      } catch {
        // V8 writes JSON recursively; a value nested thousands deep exhausts the stack.
        reasons.push({ code: "malformed", message: "the reading is nested too deeply to be written again as JSON" });
      }
      if (value !== undefined && Buffer.byteLength(value) > options.maxReadingBytes) {
        reasons.push({
          code: "too-large",
          message: `the reading is ${Buffer.byteLength(value)} bytes as JSON; one reading may have at most ${options.maxReadingBytes}`,
        });
      }
    }
    if (reasons.length > 0) return { ok: false, reasons: unique(reasons) };
    const key = valueAt(reading, keyField.pointer);
    return { ok: true, key: key === undefined || key === null ? undefined : typeof key === "string" ? key : JSON.stringify(key), value: value! };
  };
}

/** A schema error no reason above covers: refused all the same, in ajv's words. */
function unmapped(error: ErrorObject): Reason {
  const at = parsePointer(error.instancePath);
  return {
    code: "wrong-type",
    path: pathText(at),
    message: `a value does not match the message schema at ${pathText(at)}: ${describe(error.data)} ${error.message ?? `fails ${error.keyword}`}`,
  };
}

function wrongType(field: ContractField, what: string): Reason {
  return {
    code: "wrong-type",
    field: field.name,
    path: field.path,
    message: `a value does not match its declared type: ${field.name} (${field.path}) is ${what}`,
  };
}

const TYPE_TEXT: Readonly<Record<string, string>> = {
  int: "an integer (int)",
  long: "an integer (long)",
  double: "a number",
  boolean: "true or false",
  string: "a value",
};

function typeText(field: ContractField): string {
  return TYPE_TEXT[field.type] ?? field.type;
}

function article(type: unknown): string {
  const first = Array.isArray(type) ? String(type[0]) : String(type);
  return first === "array" ? "an array" : first === "object" ? "an object" : `a ${first}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === "number" ? "the number" : "the boolean"} ${String(value)}`;
}

function startsWith(pointer: readonly Segment[], prefix: readonly Segment[]): boolean {
  return prefix.length <= pointer.length && prefix.every((s, i) => String(s) === String(pointer[i]));
}

/** An ajv instance path (a JSON Pointer, RFC 6901) as segments. */
function parsePointer(pointer: string): string[] {
  return pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function pathText(at: readonly Segment[]): string {
  return (
    "$" +
    at
      .map((s) => (/^\d+$/.test(String(s)) ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(s)) ? `.${s}` : `['${String(s).replace(/['\\]/g, "\\$&")}']`))
      .join("")
  );
}

/**
 * The paths of integers that are not safe integers (|n| > 2^53 - 1), without recursion: a
 * reading may be nested deeper than the stack goes (it is refused later as malformed).
 */
function unsafeIntegerPaths(reading: unknown): Segment[][] {
  interface Node {
    readonly value: unknown;
    readonly parent: Node | undefined;
    readonly segment: Segment;
  }
  const paths: Segment[][] = [];
  const stack: Node[] = [{ value: reading, parent: undefined, segment: "" }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const { value } = node;
    if (typeof value === "number") {
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        const at: Segment[] = [];
        for (let n: Node | undefined = node; n?.parent !== undefined; n = n.parent) at.unshift(n.segment);
        paths.push(at);
      }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], parent: node, segment: i });
    } else if (typeof value === "object" && value !== null) {
      for (const [name, member] of Object.entries(value).reverse()) stack.push({ value: member, parent: node, segment: name });
    }
  }
  return paths;
}

function valueAt(value: unknown, pointer: readonly Segment[]): unknown {
  let node = value;
  for (const segment of pointer) {
    if (node === null || typeof node !== "object") return undefined;
    node =
      typeof segment === "number"
        ? Array.isArray(node)
          ? node[segment]
          : undefined
        : Array.isArray(node)
          ? undefined
          : (node as Record<string, unknown>)[segment];
  }
  return node;
}

function isoMillis(match: RegExpExecArray): number | undefined {
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "0", zone] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0.${fraction}`) * 1000));
  const check = new Date(ms);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
  if (zone === undefined || zone === "Z") return ms;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return ms - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0")) * 60_000;
}

/** Two schema errors can name the same problem (a missing array and its missing element). */
function unique(reasons: readonly Reason[]): Reason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    if (seen.has(r.message)) return false;
    seen.add(r.message);
    return true;
  });
}
