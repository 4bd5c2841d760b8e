import { describe, expect, it } from "vitest";
import {
  describeNode,
  overlay,
  parseLocatedYaml,
  type LocatedEntry,
  type LocatedMap,
  type LocatedNode,
  type LocatedScalar,
  type LocatedSeq,
} from "../../src/spec/located.js";

function parse(text: string, file: string): LocatedNode {
  const parsed = parseLocatedYaml(text, file);
  expect(parsed.diagnostics).toEqual([]);
  if (parsed.root === undefined) throw new Error("empty document");
  return parsed.root;
}

function asMap(node: LocatedNode | undefined): LocatedMap {
  if (node?.kind !== "map") throw new Error(`expected a map, got ${node === undefined ? "nothing" : node.kind}`);
  return node;
}

function asSeq(node: LocatedNode | undefined): LocatedSeq {
  if (node?.kind !== "seq") throw new Error(`expected a seq, got ${node === undefined ? "nothing" : node.kind}`);
  return node;
}

function asScalar(node: LocatedNode | undefined): LocatedScalar {
  if (node?.kind !== "scalar") throw new Error(`expected a scalar, got ${node === undefined ? "nothing" : node.kind}`);
  return node;
}

function entry(map: LocatedNode, key: string): LocatedEntry {
  const found = asMap(map).entries.find((e) => e.key === key);
  if (found === undefined) throw new Error(`no key ${key}`);
  return found;
}

const at = (file: string, line: number, col: number) => ({ file, line, col });

describe("parseLocatedYaml", () => {
  it("records 1-based positions of keys, values, maps, lists and list items", () => {
    const root = parse("a:\n  b: 1\n  c: [x, 'y']\n  d:\n    - true\n    - ~\n", "f.yaml");
    expect(root.pos).toEqual(at("f.yaml", 1, 1));
    const a = entry(root, "a");
    expect(a.keyPos).toEqual(at("f.yaml", 1, 1));
    expect(a.value.pos).toEqual(at("f.yaml", 2, 3));
    const b = entry(a.value, "b");
    expect(b.keyPos).toEqual(at("f.yaml", 2, 3));
    expect(asScalar(b.value)).toEqual({ kind: "scalar", value: 1, pos: at("f.yaml", 2, 6) });
    const c = asSeq(entry(a.value, "c").value);
    expect(c.pos).toEqual(at("f.yaml", 3, 6));
    expect(c.items).toEqual([
      { kind: "scalar", value: "x", pos: at("f.yaml", 3, 7) },
      { kind: "scalar", value: "y", pos: at("f.yaml", 3, 10) },
    ]);
    const d = asSeq(entry(a.value, "d").value);
    expect(d.pos).toEqual(at("f.yaml", 5, 5));
    expect(d.items).toEqual([
      { kind: "scalar", value: true, pos: at("f.yaml", 5, 7) },
      { kind: "scalar", value: null, pos: at("f.yaml", 6, 7) },
    ]);
  });

  it("keeps YAML 1.2 scalar types: numbers, booleans, and strings such as yes/no", () => {
    const root = parse("n: 50000\nf: 1.5\nb: false\ns: yes\nv: 1\nq: '1'\n", "f.yaml");
    expect(asScalar(entry(root, "n").value).value).toBe(50000);
    expect(asScalar(entry(root, "f").value).value).toBe(1.5);
    expect(asScalar(entry(root, "b").value).value).toBe(false);
    expect(asScalar(entry(root, "s").value).value).toBe("yes");
    expect(asScalar(entry(root, "v").value).value).toBe(1);
    expect(asScalar(entry(root, "q").value).value).toBe("1");
  });

  it("an empty value is a null scalar at the key's line", () => {
    const root = parse("a:\nb: 1\n", "f.yaml");
    expect(asScalar(entry(root, "a").value).value).toBeNull();
  });

  it("an empty document has no root and no diagnostics", () => {
    expect(parseLocatedYaml("# only a comment\n", "f.yaml")).toEqual({ root: undefined, diagnostics: [] });
    expect(parseLocatedYaml("", "f.yaml")).toEqual({ root: undefined, diagnostics: [] });
  });

  it("reports a syntax error at the parser's position and returns no root", () => {
    const parsed = parseLocatedYaml("a: 1\nb: x: y\n", "bad.yaml");
    expect(parsed.root).toBeUndefined();
    expect(parsed.diagnostics).toEqual([
      {
        code: "yaml-syntax",
        pos: at("bad.yaml", 2, 4),
        message: "YAML: Nested mappings are not allowed in compact mappings",
        hint: "fix the YAML syntax at this place",
      },
    ]);
  });

  it("reports a duplicate key at the second occurrence", () => {
    const parsed = parseLocatedYaml("a: 1\nb: 2\na: 3\n", "dup.yaml");
    expect(parsed.root).toBeUndefined();
    expect(parsed.diagnostics.map((d) => [d.code, d.pos.line, d.pos.col, d.message])).toEqual([["yaml-syntax", 3, 1, "YAML: Map keys must be unique"]]);
  });

  // Regression test: this was once wrong (see the test's name).
  it("resolves an alias to the anchored value", () => {
    const root = parse("a: &x hello\nb: *x\n", "f.yaml");
    expect(asScalar(entry(root, "b").value).value).toBe("hello");
  });

  // Regression test: this was once wrong (see the test's name).
  it("reports an alias to an undefined anchor", () => {
    const parsed = parseLocatedYaml("a: *nope\n", "f.yaml");
    expect(parsed.diagnostics.length).toBeGreaterThan(0);
    expect(parsed.diagnostics[0]!.message).toContain("nope");
  });
});

describe("overlay", () => {
  const BASE = ["a:", "  x: 1", "  y: 2", "  inner:", "    p: base", "list: [1, 2, 3]", "keep: k", ""].join("\n");
  const TOP = ["a:", "  y: 20", "  z: 30", "  inner:", "    q: top", "list: [9]", ""].join("\n");

  const merged = () => overlay(parse(BASE, "base.yaml"), parse(TOP, "top.yaml"));

  it("merges maps key by key, keeping the base's key order and appending new keys", () => {
    const root = asMap(merged());
    expect(root.entries.map((e) => e.key)).toEqual(["a", "list", "keep"]);
    const a = asMap(entry(root, "a").value);
    expect(a.entries.map((e) => e.key)).toEqual(["x", "y", "inner", "z"]);
    expect(asScalar(entry(a, "x").value).value).toBe(1);
    expect(asScalar(entry(a, "y").value).value).toBe(20);
    expect(asScalar(entry(a, "z").value).value).toBe(30);
    const inner = asMap(entry(a, "inner").value);
    expect(inner.entries.map((e) => [e.key, asScalar(e.value).value])).toEqual([
      ["p", "base"],
      ["q", "top"],
    ]);
  });

  it("replaces lists whole", () => {
    const list = asSeq(entry(merged(), "list").value);
    expect(list.items.map((i) => asScalar(i).value)).toEqual([9]);
    expect(list.pos).toEqual(at("top.yaml", 6, 7));
    expect(list.items[0]!.pos).toEqual(at("top.yaml", 6, 8));
  });

  it("overridden keys and values point at the overriding file; others at the base", () => {
    const a = entry(merged(), "a").value;
    const x = entry(a, "x");
    expect(x.keyPos).toEqual(at("base.yaml", 2, 3));
    expect(x.value.pos).toEqual(at("base.yaml", 2, 6));
    const y = entry(a, "y");
    expect(y.keyPos).toEqual(at("top.yaml", 2, 3));
    expect(y.value.pos).toEqual(at("top.yaml", 2, 6));
    const z = entry(a, "z");
    expect(z.keyPos).toEqual(at("top.yaml", 3, 3));
    expect(z.value.pos).toEqual(at("top.yaml", 3, 6));
    const q = entry(entry(a, "inner").value, "q");
    expect(q.value.pos).toEqual(at("top.yaml", 5, 8));
    expect(entry(merged(), "keep").value.pos).toEqual(at("base.yaml", 7, 7));
  });

  it("replaces a scalar by a map, a map by a scalar, and a value by null", () => {
    const base = parse("a: 1\nb:\n  c: 2\nd: [1]\n", "base.yaml");
    const top = parse("a:\n  n: 1\nb: plain\nd:\n", "top.yaml");
    const root = overlay(base, top);
    expect(asMap(entry(root, "a").value).entries.map((e) => e.key)).toEqual(["n"]);
    expect(asScalar(entry(root, "b").value)).toEqual({ kind: "scalar", value: "plain", pos: at("top.yaml", 3, 4) });
    expect(asScalar(entry(root, "d").value).value).toBeNull();
  });

  it("a non-map top replaces the whole base", () => {
    const top = parse("- 1\n", "top.yaml");
    expect(overlay(parse("a: 1\n", "base.yaml"), top)).toBe(top);
  });
});

describe("describeNode", () => {
  const pos = at("f", 1, 1);
  it("names the kind and value", () => {
    expect(describeNode({ kind: "map", entries: [], pos })).toBe("a mapping");
    expect(describeNode({ kind: "seq", items: [], pos })).toBe("a list");
    expect(describeNode({ kind: "scalar", value: null, pos })).toBe("nothing (null)");
    expect(describeNode({ kind: "scalar", value: "lots", pos })).toBe('string "lots"');
    expect(describeNode({ kind: "scalar", value: 5, pos })).toBe("number 5");
    expect(describeNode({ kind: "scalar", value: true, pos })).toBe("boolean true");
  });
});
