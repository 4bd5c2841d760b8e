/** The live view's promise of the first statistics: from the plan's lineage and the first watermark. */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { loadSpec } from "../../src/spec/load.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { firstStatisticsAt, inAbout, windowTimings } from "../../src/job/first-statistics.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("windowTimings", () => {
  it("finds each window sink's slide and the watermark delay upstream of it in the default spec", () => {
    const loaded = loadSpec(path.join(root, "..", "conf/pipeline.yaml"), { env: {} });
    expect(loaded.spec).toBeDefined();
    const plan = buildPlan(loaded.spec!, loaded.specFile);
    expect(windowTimings(plan)).toEqual({
      influx_window_5m: { slideMs: 60_000, delayMs: 120_000 },
      influx_window_1h: { slideMs: 900_000, delayMs: 120_000 },
    });
  });
});

describe("firstStatisticsAt", () => {
  const fiveMinutes = { slideMs: 60_000, delayMs: 120_000 };

  it("is the end of the first window holding the readings, one watermark delay later", () => {
    // Readings at 10:37:30 make the watermark 10:35:30; the window [10:33, 10:38) ends first and
    // is emitted once readings of 10:40 arrive.
    expect(firstStatisticsAt("2026-11-28T10:35:30.000Z", fiveMinutes)?.toISOString()).toBe("2026-11-28T10:40:00.000Z");
    expect(firstStatisticsAt("2026-11-28T10:35:30.000Z", { slideMs: 900_000, delayMs: 120_000 })?.toISOString()).toBe("2026-11-28T10:47:00.000Z");
  });

  it("a reading exactly on a slide boundary opens the window that starts there", () => {
    // Readings at 10:38:00.000 belong to windows ending 10:39 at the earliest.
    expect(firstStatisticsAt("2026-11-28T10:36:00.000Z", fiveMinutes)?.toISOString()).toBe("2026-11-28T10:41:00.000Z");
  });

  it("says nothing before the query has seen a reading (Spark reports the epoch)", () => {
    expect(firstStatisticsAt(undefined, fiveMinutes)).toBeUndefined();
    expect(firstStatisticsAt("1970-01-01T00:00:00.000Z", fiveMinutes)).toBeUndefined();
    expect(firstStatisticsAt("not a time", fiveMinutes)).toBeUndefined();
  });
});

describe("inAbout", () => {
  it("rounds to what a person reads at a glance", () => {
    expect(inAbout(3_000)).toBe("any moment now");
    expect(inAbout(40_400)).toBe("in about 40 s");
    expect(inAbout(6 * 60_000 + 10_000)).toBe("in about 6 minutes");
  });
});
