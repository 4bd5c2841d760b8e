/** `explain --format mermaid`: every source, view and sink once, and every edge of the plan. */
import { describe, expect, it } from "vitest";
import { explainMermaid } from "../../src/emit/explain-mermaid.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";

const loaded = loadSpec("driver/test/fixtures/several-windows/spec.yaml", { env: {} });
const plan = buildPlan(loaded.spec!, loaded.specFile);
const chart = explainMermaid(plan);

describe("explainMermaid", () => {
  it("draws each source, view and sink once, windows with their size and slide, sinks with their trigger", () => {
    expect(chart.startsWith("flowchart LR\n")).toBe(true);
    for (const name of [
      ...plan.sources.map((s) => `source_${s.name}`),
      ...plan.views.map((v) => `view_${v.name}`),
      ...plan.sinks.map((s) => `sink_${s.name}`),
    ]) {
      expect(chart.match(new RegExp(`^  ${name}[\\[{(]`, "gm")), name).toHaveLength(1);
    }
    for (const view of plan.views.filter((v) => v.body.kind === "window-aggregate")) {
      const body = view.body as Extract<typeof view.body, { kind: "window-aggregate" }>;
      expect(chart).toContain(`view_${view.name}{{"${view.name}<br/>window ${body.window.name}: ${body.window.size.text}, every ${body.window.slide.text}`);
    }
    for (const sink of plan.sinks)
      expect(chart).toMatch(
        new RegExp(`sink_${sink.name}\\[/".*${sink.trigger.kind === "available-now" ? "available now" : `every ${sink.trigger.interval.text}`}"/\\]`),
      );
  });

  it("has an edge from every input of every view and into every sink", () => {
    const edges = chart.split("\n").filter((l) => l.includes(" --> "));
    for (const sink of plan.sinks) expect(edges).toContain(`  view_${sink.query} --> sink_${sink.name}`);
    expect(edges).toContain("  view_parsed_readings --> view_checked_readings");
    expect(edges).toContain("  view_registry_devices --> view_checked_readings");
    expect(edges.length).toBe(plan.sinks.length + plan.views.length + 1);
  });
});
