/**
 * A YAML document turned into a small tree whose every node remembers where it came from.
 *
 * Profiles are merged at this level (before decoding), so a value that a profile overrides
 * points at the profile file, and everything else at the pipeline file.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { diagnostic, type Diagnostic, type SourcePosition } from "./diagnostics.js";

export type ScalarValue = string | number | boolean | null;

export interface LocatedScalar {
  readonly kind: "scalar";
  readonly value: ScalarValue;
  readonly pos: SourcePosition;
}

export interface LocatedEntry {
  readonly key: string;
  readonly keyPos: SourcePosition;
  readonly value: LocatedNode;
}

export interface LocatedMap {
  readonly kind: "map";
  readonly entries: readonly LocatedEntry[];
  readonly pos: SourcePosition;
}

export interface LocatedSeq {
  readonly kind: "seq";
  readonly items: readonly LocatedNode[];
  readonly pos: SourcePosition;
}

export type LocatedNode = LocatedScalar | LocatedMap | LocatedSeq;

export interface ParsedYaml {
  readonly root: LocatedNode | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Parses YAML text; syntax errors become diagnostics with the parser's own position. */
export function parseLocatedYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const posAt = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  for (const error of [...doc.errors, ...doc.warnings]) {
    const message = error.message.split("\n")[0] ?? error.message;
    diagnostics.push(diagnostic("yaml-syntax", posAt(error.pos[0]), `YAML: ${message}`, "fix the YAML syntax at this place"));
  }
  if (doc.errors.length > 0) return { root: undefined, diagnostics };

  const convert = (node: unknown): LocatedNode => {
    const yamlNode = node as YamlNode | null;
    const pos = posAt(yamlNode?.range?.[0] ?? 0);
    if (isMap(yamlNode)) {
      const entries: LocatedEntry[] = [];
      for (const pair of yamlNode.items) {
        const keyNode = pair.key as YamlNode | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        entries.push({ key, keyPos: posAt(keyNode?.range?.[0] ?? 0), value: convert(pair.value) });
      }
      return { kind: "map", entries, pos };
    }
    if (isSeq(yamlNode)) {
      return { kind: "seq", items: yamlNode.items.map(convert), pos };
    }
    if (isScalar(yamlNode)) {
      const value = yamlNode.value;
      const scalar: ScalarValue = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : null;
      return { kind: "scalar", value: scalar, pos };
    }
    if (yamlNode === null || yamlNode === undefined) return { kind: "scalar", value: null, pos };
    if (isAlias(yamlNode)) {
      // `*name` takes the anchored node's value; its position stays the alias's own.
      const target = yamlNode.resolve(doc);
      if (target === undefined) {
        diagnostics.push(diagnostic("yaml-syntax", pos, `YAML: alias *${yamlNode.source} names no anchor`, `define &${yamlNode.source} before using it`));
        return { kind: "scalar", value: null, pos };
      }
      return { ...convert(target), pos };
    }
    throw new Error(`unexpected YAML node at ${file}:${pos.line}:${pos.col}`);
  };

  const root = doc.contents === null ? undefined : convert(doc.contents);
  return { root: diagnostics.length > 0 ? undefined : root, diagnostics };
}

/**
 * Overlays a profile on the pipeline: maps merge key by key, anything else (scalars and
 * sequences) is replaced whole by the profile's value.
 */
export function overlay(base: LocatedNode, top: LocatedNode): LocatedNode {
  if (base.kind !== "map" || top.kind !== "map") return top;
  const entries = base.entries.map((entry) => {
    const override = top.entries.find((e) => e.key === entry.key);
    return override === undefined ? entry : { ...override, value: overlay(entry.value, override.value) };
  });
  for (const entry of top.entries) {
    if (!base.entries.some((e) => e.key === entry.key)) entries.push(entry);
  }
  return { kind: "map", entries, pos: base.pos };
}

export function describeNode(node: LocatedNode): string {
  if (node.kind === "map") return "a mapping";
  if (node.kind === "seq") return "a list";
  if (node.value === null) return "nothing (null)";
  return `${typeof node.value} ${JSON.stringify(node.value)}`;
}
