/**
 * Grafana queries what the pipeline writes: every measurement, field and tag the provisioned
 * dashboard, its variables and the CO2 alert name exists in the compiled plan of conf/pipeline.yaml
 * (with the cluster profile), and every tag value they pin (the window) is one the plan writes.
 * Rename a measurement or a metric in the spec and this test names the query to change.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPlan } from "../../src/cli/pipeline-input.js";
import type { LineProtocolNode } from "../../src/plan/nodes.js";
import { asMapping, INFRASTRUCTURE, ROOT } from "./compose-project.js";

interface MeasurementNames {
  readonly fields: Set<string>;
  readonly tags: Set<string>;
  /** Values of the tags every point carries (the window's name). */
  readonly constantTagValues: Map<string, Set<string>>;
}

/** What the compiled plan writes to InfluxDB, by measurement. */
function writtenNames(): Map<string, MeasurementNames> {
  const { plan } = loadPlan(path.join(ROOT, "conf/pipeline.yaml"), { profile: "cluster" });
  const names = new Map<string, MeasurementNames>();
  for (const view of plan.views) {
    if (view.body.kind !== "line-protocol") continue;
    const body: LineProtocolNode = view.body;
    for (const point of body.points) {
      const entry = names.get(point.measurement) ?? { fields: new Set<string>(), tags: new Set<string>(), constantTagValues: new Map<string, Set<string>>() };
      for (const field of point.fields) {
        entry.fields.add(field.key);
        if (field.companion !== undefined) entry.fields.add(field.companion.key);
      }
      for (const tag of body.tags) entry.tags.add(tag.key);
      for (const tag of body.constantTags) {
        entry.tags.add(tag.key);
        entry.constantTagValues.set(tag.key, (entry.constantTagValues.get(tag.key) ?? new Set()).add(tag.value));
      }
      names.set(point.measurement, entry);
    }
  }
  return names;
}

interface QueriedNames {
  readonly measurements: string[];
  readonly fields: string[];
  readonly tags: string[];
  readonly tagValues: Array<[string, string]>;
  readonly buckets: string[];
}

const all = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((m) => m[1]!);
const quotedList = (text: string, key: string): string[] => all(text, new RegExp(`${key}:\\s*\\[([^\\]]*)\\]`, "g")).flatMap((list) => all(list, /"([^"]+)"/g));

/**
 * The names a Flux query reads. Columns starting with "_" are InfluxDB's own (_time, _value,
 * _field, ...); every other column a query filters, groups, pivots or keeps by is a tag.
 */
function fluxNames(query: string): QueriedNames {
  const tags = [
    ...all(query, /\br\.([A-Za-z][A-Za-z0-9_]*)/g),
    ...all(query, /\br\["([^"]+)"\]/g),
    ...quotedList(query, "columns"),
    ...quotedList(query, "rowKey"),
    ...quotedList(query, "columnKey"),
    ...all(query, /\b(?:tag|column):\s*"([^"]+)"/g),
  ].filter((name) => !name.startsWith("_"));
  return {
    measurements: [...all(query, /\br\._measurement\s*==\s*"([^"]+)"/g), ...all(query, /\bmeasurement:\s*"([^"]+)"/g)],
    fields: all(query, /\br\._field\s*==\s*"([^"]+)"/g),
    tags: [...new Set(tags)],
    tagValues: [...query.matchAll(/\br\.([A-Za-z][A-Za-z0-9_]*)\s*==\s*"([^"]+)"/g)].filter((m) => !m[1]!.startsWith("_")).map((m) => [m[1]!, m[2]!]),
    buckets: all(query, /\bbucket:\s*"([^"]+)"/g),
  };
}

interface Query {
  readonly where: string;
  readonly flux: string;
}

const dashboard = JSON.parse(readFileSync(path.join(INFRASTRUCTURE, "grafana/dashboards/schools.json"), "utf8")) as {
  panels: Array<{ title: string; type: string; targets?: Array<{ query: string }>; fieldConfig?: { defaults?: { displayName?: string } } }>;
  templating: { list: Array<{ name: string; type: string; query: string; options?: Array<{ value: string }> }> };
};
const alerting = parse(readFileSync(path.join(INFRASTRUCTURE, "grafana/provisioning/alerting/co2.yaml"), "utf8")) as {
  groups: Array<{ rules: Array<{ title: string; for: string; data: Array<{ datasourceUid: string; model: Mapping }> }> }>;
};
type Mapping = Record<string, unknown>;

function queries(): Query[] {
  return [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, flux: t.query }))),
    ...dashboard.templating.list.filter((v) => v.type === "query").map((v) => ({ where: `variable ${v.name}`, flux: v.query })),
    ...alerting.groups.flatMap((g) =>
      g.rules.flatMap((r) =>
        r.data.filter((d) => d.datasourceUid !== "__expr__").map((d) => ({ where: `alert "${r.title}"`, flux: String(asMapping(d.model).query) })),
      ),
    ),
  ];
}

/** Every problem of one query against what the plan writes; empty when it reads only real names. */
function problemsOf(query: Query, written: Map<string, MeasurementNames>, windows: ReadonlySet<string>): string[] {
  const names = fluxNames(query.flux);
  const problems: string[] = [];
  if (names.measurements.length === 0) problems.push(`${query.where} names no measurement`);
  for (const m of names.measurements)
    if (!written.has(m)) problems.push(`${query.where} reads measurement ${m}, which the plan does not write (it writes ${[...written.keys()].join(", ")})`);
  const read = names.measurements.map((m) => written.get(m)).filter((m): m is MeasurementNames => m !== undefined);
  const fields = new Set(read.flatMap((m) => [...m.fields]));
  const tags = new Set(read.flatMap((m) => [...m.tags]));
  for (const f of names.fields) if (!fields.has(f)) problems.push(`${query.where} reads field ${f}, which ${names.measurements.join(", ")} does not have`);
  for (const t of names.tags) if (!tags.has(t)) problems.push(`${query.where} uses tag ${t}, which ${names.measurements.join(", ")} does not have`);
  for (const [tag, value] of names.tagValues) {
    const allowed = new Set(read.flatMap((m) => [...(m.constantTagValues.get(tag) ?? [])]));
    const resolved = value === "${window}" ? [...windows] : [value];
    for (const v of resolved)
      if (allowed.size > 0 && !allowed.has(v))
        problems.push(`${query.where} asks for ${tag} = "${v}", which the plan never writes (it writes ${[...allowed].join(", ")})`);
  }
  return problems;
}

const written = writtenNames();
const bucket = asMapping(asMapping(asMapping(parse(readFileSync(path.join(ROOT, "conf/profiles/cluster.yaml"), "utf8"))).sinks).influxdb).bucket;
const windowVariable = dashboard.templating.list.find((v) => v.name === "window")!;
const windows = new Set((windowVariable.options ?? []).map((o) => o.value));

describe("the Grafana dashboard and alert", () => {
  it("query the three measurements the schools pipeline writes", () => {
    expect([...written.keys()].sort()).toEqual(["classroom_correlations", "classroom_statistics", "sensor_readings"]);
    const queried = new Set(queries().flatMap((q) => fluxNames(q.flux).measurements));
    expect([...queried].sort()).toEqual([...written.keys()].sort());
  });

  it.each(queries().map((q) => [q.where, q] as const))("%s reads only measurements, fields and tags of the compiled plan", (_where, query) => {
    expect(problemsOf(query, written, windows)).toEqual([]);
    for (const b of fluxNames(query.flux).buckets) expect(b).toBe(bucket);
  });

  it("offer as windows exactly the windows the plan writes", () => {
    const planWindows = new Set([...written.values()].flatMap((m) => [...(m.constantTagValues.get("window") ?? [])]));
    expect([...windows].sort()).toEqual([...planWindows].sort());
    expect(windowVariable.query.split(",").sort()).toEqual([...planWindows].sort());
  });

  it("label series only by tags the plan writes", () => {
    const tags = new Set([...written.values()].flatMap((m) => [...m.tags]));
    for (const panel of dashboard.panels) {
      for (const label of all(panel.fieldConfig?.defaults?.displayName ?? "", /__field\.labels\.([A-Za-z0-9_]+)/g))
        expect(tags.has(label), `${panel.title}: ${label}`).toBe(true);
    }
  });

  it("show CO2, temperature and humidity per classroom, statistics per window and the correlations", () => {
    const fieldsOf = (measurement: string): Set<string> =>
      new Set(
        queries()
          .filter((q) => fluxNames(q.flux).measurements.includes(measurement))
          .flatMap((q) => fluxNames(q.flux).fields),
      );
    expect([...fieldsOf("sensor_readings")]).toEqual(expect.arrayContaining(["co2", "temperature", "humidity"]));
    expect([...fieldsOf("classroom_statistics")]).toEqual(expect.arrayContaining(["co2_mean", "temperature_mean", "humidity_mean", "readings"]));
    const correlations = [...written.get("classroom_correlations")!.fields].filter((f) => !f.endsWith("__n"));
    expect([...fieldsOf("classroom_correlations")].sort()).toEqual(correlations.sort());
    expect(
      dashboard.panels.some((p) => p.type === "table" && (p.targets ?? []).some((t) => fluxNames(t.query).measurements.includes("classroom_correlations"))),
    ).toBe(true);
  });

  it("alert when a classroom's mean CO2 stays above 1000 ppm for 15 minutes", () => {
    const rule = alerting.groups[0]!.rules[0]!;
    expect(rule.for).toBe("15m");
    const flux = String(asMapping(rule.data[0]!.model).query);
    expect(fluxNames(flux).fields).toEqual(["co2_mean"]);
    const threshold = rule.data.find((d) => asMapping(d.model).type === "threshold")!;
    const evaluator = asMapping(asMapping((asMapping(threshold.model).conditions as unknown[])[0]).evaluator);
    expect(evaluator).toEqual({ type: "gt", params: [1000] });
  });

  it("route the alert to a provisioned contact point (a placeholder until an operator edits it)", () => {
    const notifications = parse(readFileSync(path.join(INFRASTRUCTURE, "grafana/provisioning/alerting/notifications.yaml"), "utf8")) as {
      contactPoints: Array<{ orgId: number; name: string; receivers: Array<{ type: string }> }>;
      policies: Array<{ orgId: number; receiver: string }>;
    };
    const root = notifications.policies.find((p) => p.orgId === 1)!;
    const contact = notifications.contactPoints.find((c) => c.orgId === 1 && c.name === root.receiver);
    expect(contact, `the notification policy's receiver ${root.receiver} is a provisioned contact point`).toBeDefined();
    expect(contact!.receivers.length).toBeGreaterThan(0);
  });
});

describe("fluxNames, and the check built on it", () => {
  it("reads measurement, fields, tags and pinned tag values out of a query", () => {
    const names = fluxNames(
      'from(bucket: "b") |> filter(fn: (r) => r._measurement == "m" and r._field == "f" and r.window == "5m" and r["room"] =~ /x/) ' +
        '|> group(columns: ["institute", "_time"])',
    );
    expect(names).toEqual({ measurements: ["m"], fields: ["f"], tags: ["window", "room", "institute"], tagValues: [["window", "5m"]], buckets: ["b"] });
  });

  it("reports a field, a tag and a window the plan does not write", () => {
    const flux =
      'from(bucket: "sensors") |> filter(fn: (r) => r._measurement == "classroom_statistics" and r._field == "co2_average" ' +
      'and r.room == "a" and r.window == "10m")';
    expect(problemsOf({ where: "q", flux }, written, windows)).toEqual([
      "q reads field co2_average, which classroom_statistics does not have",
      "q uses tag room, which classroom_statistics does not have",
      'q asks for window = "10m", which the plan never writes (it writes 5m, 1h)',
    ]);
  });
});
