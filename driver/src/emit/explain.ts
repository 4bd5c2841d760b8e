/** `explain`: a human summary of a plan: what is read, computed, kept in state and written. */
import { parseTemplate, resolveTemplate, type Environment } from "../spec/interpolation.js";
import type { StatisticFunction } from "../spec/pipeline-schema.js";
import type { PlanNode, SinkNode, TriggerNode, WindowAggregateNode } from "../plan/nodes.js";
import { sqlFileName } from "./sql/view-sql.js";

/** Values Spark keeps per aggregate in its state (the aggregation buffers). */
const BUFFER_VALUES: Readonly<Record<StatisticFunction, number>> = {
  mean: 2,
  min: 1,
  max: 1,
  stddev: 3,
  variance: 3,
  sum: 1,
  count: 1,
};
/** corr() keeps n, two means, the co-moment and two second moments; the pair count one more. */
const CORRELATION_VALUES = 6 + 1;

function bound(template: string, env: Environment): string {
  const { value, unset } = resolveTemplate(parseTemplate(template), env);
  if (value === template) return template;
  return unset.length > 0 ? `${template} (unset: ${unset.join(", ")})` : `${template} = ${value}`;
}

function triggerText(trigger: TriggerNode): string {
  return trigger.kind === "available-now" ? "once over what is available, then stops" : `every ${trigger.interval.text}`;
}

function windowLines(view: string, node: WindowAggregateNode, watermarkMs: number | undefined): string[] {
  const { size, slide } = node.window;
  const perReading = size.ms / slide.ms;
  const delay = watermarkMs ?? 0;
  const open = Math.ceil((size.ms + delay) / slide.ms);
  const values = 1 + node.statistics.reduce((sum, s) => sum + BUFFER_VALUES[s.fn], 0) + node.correlations.length * CORRELATION_VALUES;
  return [
    `  ${node.window.name}: ${size.text} windows ${slide.ms === size.ms ? "(tumbling)" : `sliding every ${slide.text}`}, ` +
      `by ${node.groupBy.map((c) => c.name).join(", ")} (view ${view})`,
    `      each reading falls in ${perReading} window${perReading === 1 ? "" : "s"}`,
    `      ${node.statistics.length} statistics, ${node.correlations.length} correlation${node.correlations.length === 1 ? "" : "s"} per window and group`,
    `      a window is written once, when the watermark passes its end (${size.text} + watermark after it opens)`,
    `      state per group: about ${open} open window${open === 1 ? "" : "s"} x ${values} aggregate values`,
  ];
}

function sinkLine(sink: SinkNode, env: Environment): string[] {
  const head =
    `  ${sink.name}: ${sink.kind === "parquet-sink" ? "Parquet" : `InfluxDB ${sink.write.version}`} from ${sink.query}, ` +
    `${triggerText(sink.trigger)}, ${sink.outputMode}`;
  const target =
    sink.kind === "parquet-sink"
      ? `      path ${bound(sink.path, env)}${sink.partitionBy.length > 0 ? `, partitioned by ${sink.partitionBy.join(", ")}` : ""}`
      : `      POST ${bound(`${sink.write.url}${sink.write.endpoint}`, env)}${sink.write.tokenEnv === undefined ? "" : `, token from $${sink.write.tokenEnv}`}`;
  const lines = [head, target, `      checkpoint ${bound(sink.checkpoint, env)}`];
  if (sink.kind === "influx-sink") lines.push(`      refused points to ${bound(sink.refusedPath, env)}`);
  return lines;
}

export function explainPlan(plan: PlanNode, env: Environment, profile: string | undefined): string {
  const lines: string[] = [`Pipeline ${plan.pipeline} (${plan.specFile}${profile === undefined ? "" : `, profile ${profile}`})`];
  if (plan.description !== undefined) lines.push(`  ${plan.description.trim()}`);
  lines.push("", "Sources");
  for (const source of plan.sources) {
    lines.push(
      source.kind === "kafka-source"
        ? `  ${source.name}: Kafka topic ${bound(source.topic, env)} on ${bound(source.bootstrapServers, env)}, ` +
            `from ${source.startingOffsets} when there is no checkpoint` +
            `${source.maxOffsetsPerTrigger === undefined ? "" : `, at most ${source.maxOffsetsPerTrigger} records per micro-batch`}`
        : `  ${source.name}: ${source.format} file ${bound(source.path, env)}, read once per query start`,
    );
  }
  lines.push("", "Views (run in this order)");
  let watermarkMs: number | undefined;
  plan.views.forEach((view, i) => {
    lines.push(`  ${sqlFileName(i, view)}  ${view.name}: ${view.purpose}`);
    if (view.watermark !== undefined) {
      watermarkMs = view.watermark.delay.ms;
      lines.push(
        `      watermark: ${view.watermark.column} may be ${view.watermark.delay.text} late; later readings still reach the raw outputs but no window`,
      );
    }
  });
  const windows = plan.views.filter((v) => v.body.kind === "window-aggregate");
  lines.push("", "Windows");
  if (windows.length === 0) lines.push("  none");
  for (const view of windows) lines.push(...windowLines(view.name, view.body as WindowAggregateNode, watermarkMs));
  lines.push("", `Sinks (${plan.sinks.length} streaming queries, each with its own checkpoint)`);
  for (const sink of plan.sinks) lines.push(...sinkLine(sink, env));
  return `${lines.join("\n")}\n`;
}
