/**
 * Small schema combinators that decode a located YAML tree into typed values.
 *
 * A decoder never throws: it records a diagnostic for each part it cannot decode and says
 * whether the value is complete (`Decoded`). A complete value has the schema's type; otherwise
 * mappings and lists keep whatever did decode, as a value of the schema's partial type, so the
 * cross-reference checks can still run on the rest and one pass reports every problem of a
 * spec. Object decoders carry their keys' documentation, from which the README's spec
 * reference is generated (see `spec-reference.ts`).
 */
import { allowedHint } from "./did-you-mean.js";
import { diagnostic, type Diagnostic, type SourcePosition } from "./diagnostics.js";
import { parseDuration, type Duration } from "./duration.js";
import { hasInterpolation, parseTemplate, resolveTemplate, type Environment } from "./interpolation.js";
import { parseJsonPath, type JsonPathStep } from "./json-path.js";
import { describeNode, type LocatedMap, type LocatedNode } from "./located.js";

export interface DecodeContext {
  readonly diagnostics: Diagnostic[];
  readonly env: Environment;
}

/**
 * What a decoder made of a node: the whole value, or only the parts that decoded (`undefined`
 * when nothing did). Every part that is missing from a partial value has its diagnostic.
 */
export type Decoded<T, P = T> = { readonly complete: true; readonly value: T } | { readonly complete: false; readonly partial: P | undefined };

/** Nothing decoded (the problem is already reported). */
const FAILED: Decoded<never> = Object.freeze({ complete: false, partial: undefined });

function whole<T>(value: T): Decoded<T, never> {
  return { complete: true, value };
}

function partly<P>(partial: P): Decoded<never, P> {
  return { complete: false, partial };
}

/**
 * A decoder of `T`, whose partly decoded values have the type `P`. A scalar is either decoded
 * or not, so its `P` is `T`; mappings and lists have partial types in which parts may be absent.
 */
export interface Decoder<T, P = T> {
  /** The type as the reference documentation names it. */
  readonly type: string;
  /** Keys of an object decoder, for the reference documentation. */
  readonly keys?: readonly KeyDoc[];
  /** The decoder of each entry, for maps and lists. */
  readonly element?: Decoder<unknown>;
  decode(node: LocatedNode, where: string, ctx: DecodeContext): Decoded<T, P>;
}

export interface Located<T> {
  readonly value: T;
  readonly pos: SourcePosition;
}

/** A string that may use `${VAR}`: the template goes into compiled output, the value is checked. */
export interface Setting {
  readonly template: string;
  readonly value: string;
  readonly pos: SourcePosition;
}

export interface KeyDoc {
  readonly key: string;
  readonly decoder: Decoder<unknown>;
  readonly presence: "required" | "default" | "optional";
  readonly doc: string;
  readonly defaultText?: string;
  readonly example?: string;
}

function report(ctx: DecodeContext, d: Diagnostic): Decoded<never> {
  ctx.diagnostics.push(d);
  return FAILED;
}

function wrongType(ctx: DecodeContext, node: LocatedNode, where: string, expected: string): Decoded<never> {
  where = where === "" ? "the spec" : where;
  return report(ctx, diagnostic("wrong-type", node.pos, `${where} must be ${expected}, found ${describeNode(node)}`, `write ${expected} here`));
}

/** Rejects `${...}` outside settings: compiled logic must not depend on the environment. */
function noInterpolation(ctx: DecodeContext, node: LocatedNode, where: string, text: string): boolean {
  if (!hasInterpolation(text)) return true;
  report(
    ctx,
    diagnostic(
      "bad-interpolation",
      node.pos,
      `${where} cannot use \${...}: variables are only resolved in endpoint and path settings`,
      "write the value itself here, or override it in a profile (--profile)",
    ),
  );
  return false;
}

export function string(options: { pattern?: RegExp; patternText?: string } = {}): Decoder<Located<string>> {
  return {
    type: "string",
    decode(node, where, ctx) {
      // YAML reads `2020` or `true` as a number or boolean; as a string they are their text.
      const text =
        node.kind === "scalar" && (typeof node.value === "string" || typeof node.value === "number" || typeof node.value === "boolean")
          ? String(node.value)
          : undefined;
      if (text === undefined) return wrongType(ctx, node, where, "a string");
      if (!noInterpolation(ctx, node, where, text)) return FAILED;
      if (options.pattern !== undefined && !options.pattern.test(text)) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} "${text}" is not valid`, options.patternText));
      }
      return whole({ value: text, pos: node.pos });
    },
  };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME_TEXT = "use letters, digits and _, starting with a letter or _ (e.g. co2_ppm)";

/** A column or object name that must work unquoted in SQL and as an InfluxDB key. */
export function name(): Decoder<Located<string>> {
  return { ...string({ pattern: NAME, patternText: NAME_TEXT }), type: "name" };
}

export function setting(): Decoder<Setting> {
  return {
    type: "string (may use ${VAR})",
    decode(node, where, ctx) {
      const raw = node.kind === "scalar" && node.value !== null && typeof node.value !== "object" ? String(node.value) : undefined;
      if (raw === undefined) return wrongType(ctx, node, where, "a string");
      const template = parseTemplate(raw);
      if (template.error !== undefined) {
        return report(
          ctx,
          diagnostic("bad-interpolation", node.pos, `${where}: ${template.error}`, 'write ${NAME} or ${NAME:-default}; "$$" for a literal "$"'),
        );
      }
      const resolved = resolveTemplate(template, ctx.env);
      for (const variable of resolved.unset) {
        report(
          ctx,
          diagnostic(
            "unset-variable",
            node.pos,
            `${where} uses \${${variable}}, which is not set and has no default`,
            `export ${variable}=... before running, or write \${${variable}:-default}`,
          ),
        );
      }
      if (resolved.unset.length > 0) return FAILED;
      return whole({ template: raw, value: resolved.value, pos: node.pos });
    },
  };
}

export function integer(options: { min?: number; max?: number } = {}): Decoder<Located<number>> {
  const { min, max } = options;
  const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : "";
  return {
    type: `integer${range}`,
    decode(node, where, ctx) {
      if (node.kind !== "scalar" || typeof node.value !== "number" || !Number.isInteger(node.value)) {
        if (node.kind === "scalar" && typeof node.value === "string" && !noInterpolation(ctx, node, where, node.value)) {
          return FAILED;
        }
        return wrongType(ctx, node, where, "a whole number");
      }
      if ((min !== undefined && node.value < min) || (max !== undefined && node.value > max)) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} is ${node.value}, out of range`, `write an integer${range}`));
      }
      return whole({ value: node.value, pos: node.pos });
    },
  };
}

export function boolean(): Decoder<Located<boolean>> {
  return {
    type: "boolean",
    decode(node, where, ctx) {
      if (node.kind !== "scalar" || typeof node.value !== "boolean") return wrongType(ctx, node, where, "true or false");
      return whole({ value: node.value, pos: node.pos });
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Decoder<Located<T>> {
  return {
    type: `one of ${values.map((v) => `\`${v}\``).join(", ")}`,
    decode(node, where, ctx) {
      const text = node.kind === "scalar" && node.value !== null ? String(node.value) : undefined;
      if (text === undefined) return wrongType(ctx, node, where, `one of ${values.join(", ")}`);
      if (!(values as readonly string[]).includes(text)) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} "${text}" is not allowed`, allowedHint(text, values)));
      }
      return whole({ value: text as T, pos: node.pos });
    },
  };
}

export function duration(): Decoder<Located<Duration>> {
  return {
    type: "duration",
    decode(node, where, ctx) {
      if (node.kind !== "scalar" || typeof node.value !== "string") {
        return wrongType(ctx, node, where, 'a duration such as "5 minutes"');
      }
      if (!noInterpolation(ctx, node, where, node.value)) return FAILED;
      const parsed = parseDuration(node.value);
      if (!parsed.ok) return report(ctx, diagnostic("bad-duration", node.pos, `${where}: ${parsed.problem}`, parsed.hint));
      return whole({ value: parsed.duration, pos: node.pos });
    },
  };
}

/** A calendar date (UTC): its text and the epoch milliseconds of its midnight. */
export interface CalendarDate {
  readonly text: string;
  readonly ms: number;
}

/** A `YYYY-MM-DD` date between `min` and `max` (both `YYYY-MM-DD`, inclusive). */
export function date(options: { min: string; max: string; why: string }): Decoder<Located<CalendarDate>> {
  const allowed = `write a date from ${options.min} to ${options.max} as YYYY-MM-DD (${options.why})`;
  return {
    type: `date (YYYY-MM-DD) from ${options.min} to ${options.max}`,
    decode(node, where, ctx) {
      if (node.kind !== "scalar" || typeof node.value !== "string") return wrongType(ctx, node, where, 'a date such as "2000-01-01"');
      const text = node.value;
      const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
      // Date.parse rolls 2023-02-30 over to March; a real date prints back as itself.
      if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} "${text}" is not a date`, allowed));
      }
      if (text < options.min || text > options.max) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} ${text} is out of range`, allowed));
      }
      return whole({ value: { text, ms }, pos: node.pos });
    },
  };
}

export function jsonPath(): Decoder<Located<readonly JsonPathStep[]>> {
  return {
    type: "JSON path",
    decode(node, where, ctx) {
      if (node.kind !== "scalar" || typeof node.value !== "string") return wrongType(ctx, node, where, 'a JSON path such as "$.DevEui"');
      const parsed = parseJsonPath(node.value);
      if (!parsed.ok) {
        return report(ctx, diagnostic("bad-json-path", node.pos, `${where}: ${parsed.problem}`, 'write "$.a.b", "$.a[0].b" or "$[\'odd name\'].b"'));
      }
      return whole({ value: parsed.steps, pos: node.pos });
    },
  };
}

export type Trigger = { readonly kind: "interval"; readonly interval: Duration } | { readonly kind: "available-now" };

/** A micro-batch trigger: an interval, or `available-now` (process what is there, then stop). */
export function trigger(): Decoder<Located<Trigger>> {
  const interval = duration();
  return {
    type: "duration or `available-now`",
    decode(node, where, ctx) {
      if (node.kind === "scalar" && node.value === "available-now") {
        return whole({ value: { kind: "available-now" }, pos: node.pos });
      }
      const parsed = interval.decode(node, where, ctx);
      return parsed.complete ? whole({ value: { kind: "interval", interval: parsed.value.value }, pos: parsed.value.pos }) : FAILED;
    },
  };
}

export function list<T extends P, P>(element: Decoder<T, P>, options: { minItems?: number } = {}): Decoder<Located<readonly T[]>, Located<readonly P[]>> {
  const minItems = options.minItems ?? 0;
  return {
    type: `list of ${element.type}`,
    element,
    decode(node, where, ctx) {
      if (node.kind !== "seq") return wrongType(ctx, node, where, `a list of ${element.type}`);
      if (node.items.length < minItems) {
        return report(ctx, diagnostic("bad-value", node.pos, `${where} needs at least ${minItems} item${minItems === 1 ? "" : "s"}`, `add items to ${where}`));
      }
      const values: T[] = [];
      const parts: P[] = [];
      node.items.forEach((item, i) => {
        const decoded = element.decode(item, `${where}[${i}]`, ctx);
        if (decoded.complete) values.push(decoded.value);
        const part = decoded.complete ? decoded.value : decoded.partial;
        if (part !== undefined) parts.push(part);
      });
      return values.length === node.items.length ? whole({ value: values, pos: node.pos }) : partly({ value: parts, pos: node.pos });
    },
  };
}

export interface Named<T> {
  readonly name: Located<string>;
  readonly value: T;
}

/** A mapping whose keys are names the user chooses (e.g. message fields). */
export function namedMap<T extends P, P>(element: Decoder<T, P>): Decoder<Located<readonly Named<T>[]>, Located<readonly Named<P>[]>> {
  const nameDecoder = name();
  return {
    type: `mapping of name to ${element.type}`,
    element,
    decode(node, where, ctx) {
      if (node.kind !== "map") return wrongType(ctx, node, where, "a mapping");
      const values: Named<T>[] = [];
      const parts: Named<P>[] = [];
      for (const entry of node.entries) {
        const key = nameDecoder.decode({ kind: "scalar", value: entry.key, pos: entry.keyPos }, `${where} key`, ctx);
        const value = element.decode(entry.value, `${where}.${entry.key}`, ctx);
        if (!key.complete) continue;
        if (value.complete) values.push({ name: key.value, value: value.value });
        const part = value.complete ? value.value : value.partial;
        if (part !== undefined) parts.push({ name: key.value, value: part });
      }
      return values.length === node.entries.length ? whole({ value: values, pos: node.pos }) : partly({ value: parts, pos: node.pos });
    },
  };
}

interface KeySpec<T, P> {
  readonly decoder: Decoder<T, P>;
  readonly presence: "required" | "default" | "optional";
  readonly doc: string;
  readonly fallback?: (pos: SourcePosition) => T;
  readonly defaultText?: string;
  readonly example?: string;
}

export function required<T, P>(decoder: Decoder<T, P>, doc: string, example?: string): KeySpec<T, P> {
  return example === undefined ? { decoder, presence: "required", doc } : { decoder, presence: "required", doc, example };
}

export function optional<T, P>(decoder: Decoder<T, P>, doc: string, example?: string): KeySpec<T | undefined, P | undefined> {
  const spec: KeySpec<T | undefined, P | undefined> = { decoder, presence: "optional", doc };
  return example === undefined ? spec : { ...spec, example };
}

/**
 * A key with a default. The default is written as YAML text and decoded like user input, so
 * documentation and behaviour cannot disagree.
 */
export function withDefault<T, P>(decoder: Decoder<T, P>, defaultText: string, doc: string, example?: string): KeySpec<T, P> {
  const fallback = (pos: SourcePosition): T => {
    const ctx: DecodeContext = { diagnostics: [], env: {} };
    const parsedDefault = parseDefault(defaultText, pos);
    const decoded = decoder.decode(parsedDefault, "default", ctx);
    if (!decoded.complete) throw new Error(`invalid built-in default ${defaultText}: ${ctx.diagnostics[0]?.message}`);
    return decoded.value;
  };
  const spec: KeySpec<T, P> = { decoder, presence: "default", doc, fallback, defaultText };
  return example === undefined ? spec : { ...spec, example };
}

function parseDefault(text: string, pos: SourcePosition): LocatedNode {
  if (text === "{}") return { kind: "map", entries: [], pos };
  if (text.startsWith("[")) {
    const inner = text.slice(1, -1).trim();
    const items = inner === "" ? [] : inner.split(",").map((s) => parseDefault(s.trim(), pos));
    return { kind: "seq", items, pos };
  }
  if (/^-?\d+$/.test(text)) return { kind: "scalar", value: Number(text), pos };
  if (text === "true" || text === "false") return { kind: "scalar", value: text === "true", pos };
  return { kind: "scalar", value: text, pos };
}

/** On a partly decoded mapping: the keys that were written but whose value did not decode. */
export const FAILED_KEYS: unique symbol = Symbol("failed keys");

type CompleteOf<S> = S extends KeySpec<infer T, unknown> ? T : never;
type PartOf<S> = S extends KeySpec<unknown, infer P> ? P : never;

export type ObjectOf<F extends Record<string, KeySpec<unknown, unknown>>> = { readonly [K in keyof F]: CompleteOf<F[K]> } & {
  readonly pos: SourcePosition;
};

/**
 * A partly decoded mapping: any key may be absent, because it was missing (a required key) or
 * because its value did not decode (then it is in `FAILED_KEYS`). A complete mapping is one too.
 */
export type PartialObjectOf<F extends Record<string, KeySpec<unknown, unknown>>> = { readonly [K in keyof F]?: PartOf<F[K]> } & {
  readonly pos: SourcePosition;
  readonly [FAILED_KEYS]?: ReadonlySet<string>;
};

/**
 * True when `key` was written in the mapping but its value did not decode. Checks use it to
 * tell "absent" from "present but invalid", so they do not report a follow-up problem.
 */
export function keyFailed<O extends { readonly [FAILED_KEYS]?: ReadonlySet<string> }>(decoded: O | undefined, key: keyof O & string): boolean {
  return decoded?.[FAILED_KEYS]?.has(key) ?? false;
}

export function object<F extends Record<string, KeySpec<unknown, unknown>>>(keys: F): Decoder<ObjectOf<F>, PartialObjectOf<F>> {
  const names = Object.keys(keys);
  const docs: KeyDoc[] = names.map((key) => {
    const spec = keys[key]!;
    const doc: KeyDoc = { key, decoder: spec.decoder, presence: spec.presence, doc: spec.doc };
    return {
      ...doc,
      ...(spec.defaultText === undefined ? {} : { defaultText: spec.defaultText }),
      ...(spec.example === undefined ? {} : { example: spec.example }),
    };
  });
  return {
    type: "mapping",
    keys: docs,
    decode(node, where, ctx) {
      if (node.kind !== "map") return wrongType(ctx, node, where, "a mapping");
      return decodeObject(keys, node, where, ctx);
    },
  };
}

function decodeObject<F extends Record<string, KeySpec<unknown, unknown>>>(
  keys: F,
  node: LocatedMap,
  where: string,
  ctx: DecodeContext,
): Decoded<ObjectOf<F>, PartialObjectOf<F>> {
  const names = Object.keys(keys);
  const prefix = where === "" ? "" : `${where}.`;
  for (const entry of node.entries) {
    // An unknown key is reported but does not fail the object, so the checks that need a
    // decoded spec still run and the user sees those problems in the same pass.
    if (!names.includes(entry.key)) {
      report(ctx, diagnostic("unknown-key", entry.keyPos, `unknown key "${prefix}${entry.key}"`, allowedHint(entry.key, names)));
    }
  }
  const out: Record<string, unknown> = { pos: node.pos };
  const failedKeys = new Set<string>();
  let complete = true;
  for (const key of names) {
    const spec = keys[key]!;
    const found = node.entries.find((e) => e.key === key);
    // An explicit `key:` with no value means "not set" for keys that may be left out.
    const isNull = found !== undefined && found.value.kind === "scalar" && found.value.value === null;
    const entry = isNull && spec.presence !== "required" ? undefined : found;
    if (entry === undefined) {
      if (spec.presence === "required") {
        report(ctx, diagnostic("missing-key", node.pos, `${where === "" ? "the spec" : where} is missing the key "${key}"`, `add ${key}: (${spec.doc})`));
        complete = false;
      } else if (spec.fallback !== undefined) {
        out[key] = spec.fallback(node.pos);
      }
      continue;
    }
    const decoded = spec.decoder.decode(entry.value, `${prefix}${key}`, ctx);
    if (decoded.complete) out[key] = decoded.value;
    else {
      complete = false;
      if (decoded.partial === undefined) failedKeys.add(key);
      else out[key] = decoded.partial;
    }
  }
  // TypeScript cannot follow a mapped type through a loop over its keys, so the record is
  // typed here: as the complete type only when every key decoded completely.
  if (complete) return whole(out as ObjectOf<F>);
  const partial: Record<string | typeof FAILED_KEYS, unknown> = { ...out, [FAILED_KEYS]: failedKeys };
  return partly(partial as PartialObjectOf<F>);
}
