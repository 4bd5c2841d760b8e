/** Which checkpoint each query uses at start, and when --fresh-state must still refuse. */
import { describe, expect, it } from "vitest";
import { checkpointsToUse } from "../../src/cli/job/start.js";
import type { PlanJson, SinkVerdict } from "../../src/deploy/checkpoint-compat.js";
import { ExitError } from "../../src/cli/exit-codes.js";

const plan = {
  sinks: [
    { name: "raw_parquet", kind: "parquet" },
    { name: "influx_window_5m", kind: "influx-lines" },
  ],
} as unknown as PlanJson;
const io = { out: () => undefined, err: () => undefined };
const incompatible = (sink: string, reasons: string[]): SinkVerdict => ({
  sink,
  planned: `file:///cp/${sink}`,
  verdict: { kind: "incompatible", checkpoint: `file:///cp/${sink}`, reasons },
});

describe("checkpointsToUse", () => {
  it("refuses an incompatible checkpoint without --fresh-state (exit 9)", () => {
    const run = () => checkpointsToUse([incompatible("influx_window_5m", ["the state changed"])], plan, false, io);
    expect(run).toThrow(ExitError);
    expect(run).toThrow(/influx_window_5m: the state changed/);
  });

  it("moves an InfluxDB query to a fresh checkpoint with --fresh-state", () => {
    const used = checkpointsToUse([incompatible("influx_window_5m", ["the state changed"])], plan, true, io);
    expect(used.get("influx_window_5m")).toMatch(/^file:\/\/\/cp\/influx_window_5m\.\d{8}T\d{6}$/);
  });

  it("refuses fresh state for a Parquet sink that keeps its folder, which would skip batches", () => {
    expect(() => checkpointsToUse([incompatible("raw_parquet", ["the Kafka topic changed from a to b"])], plan, true, io)).toThrow(/needs a new output folder/);
    const moved = checkpointsToUse(
      [incompatible("raw_parquet", ["the output folder changed from x to y (a file sink's checkpoint belongs to its folder)"])],
      plan,
      true,
      io,
    );
    expect(moved.get("raw_parquet")).toMatch(/raw_parquet\.\d{8}T/);
  });
});
