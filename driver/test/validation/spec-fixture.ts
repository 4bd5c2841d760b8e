/**
 * Helpers for the validation tests: variants of the valid conf/pipeline.yaml made by editing
 * its text, decoded with an explicit environment, and exact expectations on diagnostics.
 *
 * Positions are computed from the variant's text by `at()` (plain string search, independent
 * of the YAML parser), so each test names the exact character where the offending node starts
 * and keeps working when unrelated lines of conf/pipeline.yaml move.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { decodeSpec } from "../../src/spec/decode-spec.js";
import type { Diagnostic, DiagnosticCode } from "../../src/spec/diagnostics.js";
import type { Environment } from "../../src/spec/interpolation.js";
import { parseLocatedYaml } from "../../src/spec/located.js";
import type { PipelineSpec } from "../../src/spec/pipeline-schema.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BASE_SPEC = readFileSync(new URL("../../../conf/pipeline.yaml", import.meta.url), "utf8");
export const SPEC_FILE = "spec.yaml";
/** No variables at all: every `${X}` without a default is unset. */
export const NO_ENV: Environment = Object.freeze({});

function uniqueIndex(text: string, needle: string): number {
  const first = text.indexOf(needle);
  if (first < 0) throw new Error(`fixture: ${JSON.stringify(needle)} does not occur in the spec`);
  if (text.indexOf(needle, first + 1) >= 0) throw new Error(`fixture: ${JSON.stringify(needle)} occurs more than once`);
  return first;
}

/** Replaces the one occurrence of `from` (it must occur exactly once). */
export function edit(text: string, from: string, to: string): string {
  const i = uniqueIndex(text, from);
  return text.slice(0, i) + to + text.slice(i + from.length);
}

export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * The 1-based position of `node` inside the one occurrence of `context` in `text`
 * (`node` defaults to the whole context).
 */
export function at(text: string, context: string, node: string = context): Position {
  const within = context.indexOf(node);
  if (within < 0) throw new Error(`fixture: ${JSON.stringify(node)} is not part of ${JSON.stringify(context)}`);
  const offset = uniqueIndex(text, context) + within;
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, col: offset - lineStart + 1 };
}

export interface Checked {
  readonly spec: PipelineSpec | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Parses and decodes a spec text as "spec.yaml". */
export function check(text: string, env: Environment = NO_ENV): Checked {
  const parsed = parseLocatedYaml(text, SPEC_FILE);
  if (parsed.root === undefined || parsed.diagnostics.length > 0) {
    return { spec: undefined, diagnostics: parsed.diagnostics };
  }
  return decodeSpec(parsed.root, env);
}

export interface Expected {
  readonly code: DiagnosticCode;
  readonly at: Position;
  readonly file?: string;
  /** The exact message, or substrings it must contain. */
  readonly message?: string | readonly string[];
  /** The exact hint, or substrings it must contain. */
  readonly hint?: string | readonly string[];
}

function expectText(actual: string | undefined, expected: string | readonly string[] | undefined, what: string): void {
  if (expected === undefined) return;
  if (typeof expected === "string") {
    expect(actual, what).toBe(expected);
    return;
  }
  expect(actual, what).toBeDefined();
  for (const part of expected) expect(actual, what).toContain(part);
}

const summary = (d: Diagnostic): string => `${d.code} ${d.pos.file}:${d.pos.line}:${d.pos.col}`;

/** Asserts the diagnostics are exactly these, in this order, at these places. */
export function expectDiagnostics(actual: readonly Diagnostic[], expected: readonly Expected[]): void {
  expect(actual.map(summary)).toEqual(expected.map((e) => `${e.code} ${e.file ?? SPEC_FILE}:${e.at.line}:${e.at.col}`));
  expected.forEach((e, i) => {
    const d = actual[i]!;
    expectText(d.message, e.message, `message of ${summary(d)}`);
    expectText(d.hint, e.hint, `hint of ${summary(d)}`);
  });
}

/** Decodes `text` and asserts it has exactly one diagnostic, as described; returns it. */
export function expectOnly(text: string, expected: Expected, env: Environment = NO_ENV): Diagnostic {
  const { spec, diagnostics } = check(text, env);
  expectDiagnostics(diagnostics, [expected]);
  expect(spec).toBeUndefined();
  return diagnostics[0]!;
}

/** Decodes `text` and asserts it is valid; returns the spec. */
export function expectValid(text: string, env: Environment = NO_ENV): PipelineSpec {
  const { spec, diagnostics } = check(text, env);
  expect(diagnostics.map((d) => `${summary(d)} ${d.message}`)).toEqual([]);
  expect(spec).toBeDefined();
  return spec!;
}
