/**
 * When a window query's first statistics reach their sink. Spark emits a window (append mode)
 * once the watermark, the latest event time seen minus the watermark's delay, passes the window's
 * end. Before any window closed, the watermark tells where the readings are in event time: the
 * first window that contains them ends at the next multiple of the slide, and is emitted once
 * readings one watermark delay later than that have arrived. With live readings event time is
 * wall time, so that is a time of day the live view can promise ("first statistics at 10:42").
 */
import type { PlanNode, ViewNode } from "../plan/nodes.js";
import { viewInputs } from "../plan/view-inputs.js";

/** What the estimate needs of one window query: its slide and the watermark delay of its input. */
export interface WindowTiming {
  readonly slideMs: number;
  readonly delayMs: number;
}

/** Each sink that writes window statistics, with its window's slide and watermark delay (from the plan's view lineage). */
export function windowTimings(plan: PlanNode): Record<string, WindowTiming> {
  const views = new Map(plan.views.map((v) => [v.name, v]));
  /** The first view upstream of `name` (itself included) that satisfies `test`. */
  const upstream = (name: string, test: (v: ViewNode) => boolean, seen = new Set<string>()): ViewNode | undefined => {
    const view = views.get(name);
    if (view === undefined || seen.has(name)) return undefined;
    seen.add(name);
    if (test(view)) return view;
    for (const input of viewInputs(view.body)) {
      const found = upstream(input, test, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const timings: Record<string, WindowTiming> = {};
  for (const sink of plan.sinks) {
    const window = upstream(sink.query, (v) => v.body.kind === "window-aggregate");
    if (window === undefined || window.body.kind !== "window-aggregate") continue;
    const watermarked = upstream(window.body.from, (v) => v.watermark !== undefined);
    if (watermarked?.watermark === undefined) continue;
    timings[sink.name] = { slideMs: window.body.window.slide.ms, delayMs: watermarked.watermark.delay.ms };
  }
  return timings;
}

/**
 * When the first window closes, from the first watermark past the epoch a query reported (Spark
 * reports 1970-01-01 until it has seen a reading): the readings' event time is about that
 * watermark plus the delay; the window they open ends at the next multiple of the slide; it is
 * emitted once the event time is one delay past its end. Undefined without a watermark yet.
 */
export function firstStatisticsAt(firstWatermark: string | undefined, timing: WindowTiming): Date | undefined {
  if (firstWatermark === undefined) return undefined;
  const watermark = Date.parse(firstWatermark);
  if (Number.isNaN(watermark) || watermark <= 0) return undefined;
  const seen = watermark + timing.delayMs;
  const firstEnd = (Math.floor(seen / timing.slideMs) + 1) * timing.slideMs;
  return new Date(firstEnd + timing.delayMs);
}

/** "in about 6 minutes", "in about 40 s", "any moment now". */
export function inAbout(ms: number): string {
  if (ms <= 5_000) return "any moment now";
  if (ms < 90_000) return `in about ${Math.round(ms / 1000)} s`;
  return `in about ${Math.round(ms / 60_000)} minutes`;
}
