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

/** What the estimate reads of a query's progress, oldest first. */
export interface ProgressTimes {
  readonly watermark: string | undefined;
  readonly eventTimeMin: string | undefined;
}

/**
 * When the first window closes, from the query's progress since the job started. Two candidates,
 * the earlier counts: the window holding the earliest reading of the first batch that had any
 * (Spark reports `eventTime.min`) ends at the next multiple of the slide after it; and a query
 * resumed from its checkpoint (its first watermark is past the epoch) may hold open windows, the
 * first of which ends at the next multiple of the slide after that watermark. Either is emitted
 * once the watermark reaches its end, i.e. once readings one delay later have arrived: with live
 * readings, at its end plus the delay. Undefined before the query has seen a reading.
 */
export function firstStatisticsAt(progress: readonly ProgressTimes[], timing: WindowTiming): Date | undefined {
  const nextEnd = (ms: number): number => (Math.floor(ms / timing.slideMs) + 1) * timing.slideMs;
  const ends: number[] = [];
  const resumed = time(progress[0]?.watermark);
  if (resumed !== undefined) ends.push(nextEnd(resumed));
  const earliest = progress.map((p) => time(p.eventTimeMin)).find((t) => t !== undefined);
  if (earliest !== undefined) ends.push(nextEnd(earliest));
  return ends.length === 0 ? undefined : new Date(Math.min(...ends) + timing.delayMs);
}

/** Milliseconds of an ISO time past the epoch (Spark reports the epoch for "no watermark yet"). */
function time(iso: string | undefined): number | undefined {
  const ms = iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(ms) || ms <= 0 ? undefined : ms;
}

/** "in about 6 minutes", "in about 40 s", "in about 3 hours", "any moment now". */
export function inAbout(ms: number): string {
  if (ms <= 5_000) return "any moment now";
  if (ms < 90_000) return `in about ${Math.round(ms / 1000)} s`;
  if (ms < 90 * 60_000) return `in about ${Math.round(ms / 60_000)} minutes`;
  return `in about ${Math.round(ms / 3_600_000)} hours`;
}
