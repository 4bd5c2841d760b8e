/** Which checkpoint each query uses at start, and when --fresh-state must still refuse. */
import { describe, expect, it } from "vitest";
import { checkpointsToUse, IncompatibleCheckpoints } from "../../src/deploy/checkpoint-policy.js";
import type { SinkVerdict } from "../../src/deploy/checkpoint-compat.js";
import type { PlanJson } from "../../src/emit/plan-json.js";
import { EXIT, FAILURE_EXIT } from "../../src/cli/exit-codes.js";
import { JobError } from "../../src/job/errors.js";

const plan = {
  sinks: [
    { name: "raw_parquet", kind: "parquet" },
    { name: "influx_window_5m", kind: "influx-lines" },
  ],
} as unknown as PlanJson;
const log = (): void => undefined;
const incompatible = (sink: string, reasons: string[]): SinkVerdict => ({
  sink,
  planned: `file:///cp/${sink}`,
  verdict: { kind: "incompatible", checkpoint: `file:///cp/${sink}`, reasons },
});

describe("checkpointsToUse", () => {
  it("refuses an incompatible checkpoint without --fresh-state (exit 9)", () => {
    const run = () => checkpointsToUse([incompatible("influx_window_5m", ["the state changed"])], plan, false, log);
    expect(run).toThrow(IncompatibleCheckpoints);
    expect(run).toThrow(/influx_window_5m: the state changed/);
    // start turns it into this failure, which the CLI ends with exit 9.
    expect(FAILURE_EXIT[new JobError("incompatible-checkpoint", "").failure]).toBe(EXIT.incompatibleCheckpoint);
  });

  it("moves an InfluxDB query to a fresh checkpoint with --fresh-state", () => {
    const used = checkpointsToUse([incompatible("influx_window_5m", ["the state changed"])], plan, true, log);
    expect(used.get("influx_window_5m")).toMatch(/^file:\/\/\/cp\/influx_window_5m\.\d{8}T\d{6}$/);
  });

  it("refuses fresh state for a Parquet sink that keeps its folder, which would skip batches", () => {
    expect(() => checkpointsToUse([incompatible("raw_parquet", ["the Kafka topic changed from a to b"])], plan, true, log)).toThrow(
      /needs a new output folder/,
    );
    const moved = checkpointsToUse(
      [incompatible("raw_parquet", ["the output folder changed from x to y (a file sink's checkpoint belongs to its folder)"])],
      plan,
      true,
      log,
    );
    expect(moved.get("raw_parquet")).toMatch(/raw_parquet\.\d{8}T/);
  });
});
