import { describe, expect, it } from "vitest";
import type { Located } from "../../src/spec/decoders.js";
import { parseJsonPath, type JsonPathStep } from "../../src/spec/json-path.js";
import { buildMessageSchema, type SchemaNode } from "../../src/spec/message-schema.js";
import type { FieldType } from "../../src/spec/pipeline-schema.js";

const pos = { file: "spec.yaml", line: 1, col: 1 };

function field(name: string, path: string, type: FieldType) {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) throw new Error(parsed.problem);
  const located = <T>(value: T): Located<T> => ({ value, pos });
  return { name: located(name), value: { path: located<readonly JsonPathStep[]>(parsed.steps), type: located(type) } };
}

/** A plain-object view of a schema, so whole shapes can be compared with toEqual. */
function plain(node: SchemaNode): unknown {
  if (node.kind === "leaf") return node.type;
  if (node.kind === "array") return [plain(node.element)];
  return Object.fromEntries([...node.members].map(([k, v]) => [k, plain(v)]));
}

describe("buildMessageSchema", () => {
  it("merges paths that share a prefix into one struct", () => {
    const { schema, conflicts } = buildMessageSchema([
      field("temperature", "$.parsedPayload.temperature", "double"),
      field("co2", "$.parsedPayload.co2", "double"),
      field("light", "$.parsedPayload.light.level", "long"),
      field("device", "$.DevEui", "string"),
    ]);
    expect(conflicts).toEqual([]);
    expect(plain(schema)).toEqual({
      parsedPayload: { temperature: "double", co2: "double", light: { level: "long" } },
      DevEui: "string",
    });
  });

  it("builds arrays for index steps and merges their elements", () => {
    const { schema, conflicts } = buildMessageSchema([
      field("gateway", "$.GWInfo[0].gwname", "string"),
      field("sent_at", "$.GWInfo[0].sendtime", "long"),
      field("second_gateway", "$.GWInfo[1].gwname", "string"),
      field("first_value", "$.values[0]", "double"),
    ]);
    expect(conflicts).toEqual([]);
    expect(plain(schema)).toEqual({
      GWInfo: [{ gwname: "string", sendtime: "long" }],
      values: ["double"],
    });
  });

  it("keeps members with odd names as they are", () => {
    const { schema } = buildMessageSchema([field("x", "$['odd key'].x", "int")]);
    expect(plain(schema)).toEqual({ "odd key": { x: "int" } });
  });

  it("two fields reading the same path with the same type do not conflict", () => {
    const { conflicts } = buildMessageSchema([field("a", "$.v", "double"), field("b", "$.v", "double")]);
    expect(conflicts).toEqual([]);
  });

  it("reports a value read as an object by a later field", () => {
    const { schema, conflicts } = buildMessageSchema([field("co2", "$.p.co2", "double"), field("tvoc", "$.p.co2.tvoc", "double")]);
    expect(conflicts).toEqual([{ field: "tvoc", problem: 'its path treats $.p.co2 as an object, but field "co2" reads it differently' }]);
    expect(plain(schema)).toEqual({ p: { co2: "double" } });
  });

  it("reports an object read as a value by a later field", () => {
    const { conflicts } = buildMessageSchema([field("inner", "$.p.a.b", "long"), field("outer", "$.p.a", "double")]);
    expect(conflicts).toEqual([
      {
        field: "outer",
        problem: 'its path treats $.p.a as a value of type double, but field "inner" reads it differently',
      },
    ]);
  });

  it("reports one path read with two types", () => {
    const { conflicts } = buildMessageSchema([field("a", "$.v", "double"), field("b", "$.v", "long")]);
    expect(conflicts).toEqual([{ field: "b", problem: 'its path treats $.v as a value of type long, but field "a" reads it differently' }]);
  });

  it("reports an array read as an object and an object read as an array", () => {
    expect(buildMessageSchema([field("a", "$.g[0].x", "string"), field("b", "$.g.x", "string")]).conflicts).toEqual([
      { field: "b", problem: 'its path treats $.g as an object, but field "a" reads it differently' },
    ]);
    expect(buildMessageSchema([field("a", "$.g.x", "string"), field("b", "$.g[0].x", "string")]).conflicts).toEqual([
      { field: "b", problem: 'its path treats $.g as an array, but field "a" reads it differently' },
    ]);
  });

  it("names the field that first claimed the conflicting node, and keeps building after a conflict", () => {
    const { schema, conflicts } = buildMessageSchema([
      field("first", "$.a.b", "long"),
      field("second", "$.a.c", "long"),
      field("clash", "$.a", "string"),
      field("later", "$.z", "boolean"),
    ]);
    expect(conflicts).toEqual([{ field: "clash", problem: 'its path treats $.a as a value of type string, but field "first" reads it differently' }]);
    expect(plain(schema)).toEqual({ a: { b: "long", c: "long" }, z: "boolean" });
  });

  it("reports members that differ only in case, at any depth, and leaves the second out of the schema", () => {
    const { schema, conflicts } = buildMessageSchema([
      field("co2", "$.p.co2", "double"),
      field("co2_upper", "$.p.CO2", "double"),
      field("device", "$.DevEui", "string"),
      field("device_lower", "$.deveui.x", "string"),
      field("items", "$.list[0].Name", "string"),
      field("items_lower", "$.list[0].name", "string"),
    ]);
    expect(conflicts).toEqual([
      {
        field: "co2_upper",
        problem: 'its path reads $.p.CO2, which differs only in case from $.p.co2 read by field "co2" (Spark compares member names without case)',
      },
      {
        field: "device_lower",
        problem: 'its path reads $.deveui, which differs only in case from $.DevEui read by field "device" (Spark compares member names without case)',
      },
      {
        field: "items_lower",
        problem:
          'its path reads $.list[0].name, which differs only in case from $.list[0].Name read by field "items" (Spark compares member names without case)',
      },
    ]);
    expect(plain(schema)).toEqual({ p: { co2: "double" }, DevEui: "string", list: [{ Name: "string" }] });
  });

  it("reports a top-level member named like the corrupt-record column, in any case", () => {
    for (const path of ["$._corrupt_record", "$._CORRUPT_RECORD.x"]) {
      const { schema, conflicts } = buildMessageSchema([field("c", path, "string")]);
      expect(conflicts.map((c) => c.problem)).toEqual([
        `its path reads $.${path.slice(2).split(".")[0]}, but "_corrupt_record" is the column Spark's JSON parser keeps unparseable messages in`,
      ]);
      expect(plain(schema)).toEqual({});
    }
  });

  it("accepts _corrupt_record below the top level", () => {
    expect(buildMessageSchema([field("c", "$.meta._corrupt_record", "string")]).conflicts).toEqual([]);
  });
});
