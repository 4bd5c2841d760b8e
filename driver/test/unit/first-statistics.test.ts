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
  const hour = { slideMs: 900_000, delayMs: 120_000 };
  const EPOCH = "1970-01-01T00:00:00.000Z";
  const at = (progress: Array<{ watermark?: string; eventTimeMin?: string }>, timing = fiveMinutes): string | undefined =>
    firstStatisticsAt(
      progress.map((p) => ({ watermark: p.watermark ?? EPOCH, eventTimeMin: p.eventTimeMin })),
      timing,
    )?.toISOString();

  it("is the end of the window holding the earliest reading, one watermark delay later", () => {
    // The first reading at 10:37:30 is in the window [10:33, 10:38), which ends first and is
    // emitted once readings of 10:40 arrive.
    expect(at([{}, { eventTimeMin: "2026-11-28T10:37:30.000Z" }])).toBe("2026-11-28T10:40:00.000Z");
    expect(at([{ eventTimeMin: "2026-11-28T10:37:30.000Z" }], hour)).toBe("2026-11-28T10:47:00.000Z");
  });

  it("counts from the earliest reading of a backlog, not from the latest (the demo starts its simulator first)", () => {
    // A backlog from 10:28:30 to 10:30:01: the watermark after it is 10:28:01, but the first
    // window, [10:24, 10:29), closes with readings of 10:31.
    expect(at([{ eventTimeMin: "2026-11-28T10:28:30.000Z" }, { watermark: "2026-11-28T10:28:01.000Z" }])).toBe("2026-11-28T10:31:00.000Z");
    expect(at([{ eventTimeMin: "2026-11-28T10:44:30.000Z" }], hour)).toBe("2026-11-28T10:47:00.000Z");
  });

  it("a reading exactly on a slide boundary opens the window that starts there", () => {
    expect(at([{ eventTimeMin: "2026-11-28T10:38:00.000Z" }])).toBe("2026-11-28T10:41:00.000Z");
  });

  it("for a query resumed from its checkpoint, the first open window after its watermark can close first", () => {
    // Restored watermark 10:27:55: the window ending 10:28 closes with readings of 10:30, before
    // the window of the first new reading (10:29:10, ending 10:30, due 10:32).
    expect(at([{ watermark: "2026-11-28T10:27:55.000Z" }, { watermark: "2026-11-28T10:27:55.000Z", eventTimeMin: "2026-11-28T10:29:10.000Z" }])).toBe(
      "2026-11-28T10:30:00.000Z",
    );
  });

  it("says nothing before the query has seen a reading (Spark reports the epoch)", () => {
    expect(at([])).toBeUndefined();
    expect(at([{}, {}])).toBeUndefined();
    expect(at([{ eventTimeMin: "not a time" }])).toBeUndefined();
  });
});

describe("inAbout", () => {
  it("rounds to what a person reads at a glance", () => {
    expect(inAbout(3_000)).toBe("any moment now");
    expect(inAbout(40_400)).toBe("in about 40 s");
    expect(inAbout(6 * 60_000 + 10_000)).toBe("in about 6 minutes");
    expect(inAbout(10 * 3_600_000 + 14 * 60_000)).toBe("in about 10 hours");
  });
});
