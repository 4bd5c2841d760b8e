/**
 * `explain --format mermaid`: the plan as a Mermaid flowchart, sources -> views -> sinks, with
 * each window's size and slide and each sink's trigger on the picture. GitHub renders it in the
 * README. https://mermaid.js.org/syntax/flowchart.html
 */
import type { PlanNode, SinkNode, SourceNode, TriggerNode, ViewNode } from "../plan/nodes.js";
import { viewInputs } from "../plan/view-inputs.js";

/** Mermaid node ids: letters, digits and underscores only. */
function id(prefix: string, name: string): string {
  return `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** A label in double quotes; Mermaid has entity codes for the characters that would end it. */
function label(...lines: string[]): string {
  return `"${lines.map((l) => l.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;")).join("<br/>")}"`;
}

function sourceLine(source: SourceNode): string {
  return source.kind === "kafka-source"
    ? `  ${id("source", source.name)}[(${label(`Kafka ${source.topic}`, source.name)})]`
    : `  ${id("source", source.name)}[(${label(`${source.format} ${source.path}`, source.name)})]`;
}

function viewLine(view: ViewNode): string {
  const body = view.body;
  const details =
    body.kind === "window-aggregate"
      ? [`window ${body.window.name}: ${body.window.size.text}, every ${body.window.slide.text}`, `by ${body.groupBy.map((c) => c.name).join(", ")}`]
      : view.watermark !== undefined
        ? [`watermark ${view.watermark.delay.text}`]
        : [];
  return (
    `  ${id("view", view.name)}${body.kind === "window-aggregate" ? "{{" : "["}` +
    `${label(view.name, ...details)}${body.kind === "window-aggregate" ? "}}" : "]"}`
  );
}

function triggerText(trigger: TriggerNode): string {
  return trigger.kind === "available-now" ? "available now" : `every ${trigger.interval.text}`;
}

function sinkLine(sink: SinkNode): string {
  const target = (): string => {
    const query = new URLSearchParams(sink.kind === "influx-sink" ? (sink.write.endpoint.split("?")[1] ?? "") : "");
    return query.get("db") ?? query.get("bucket") ?? "";
  };
  const what = sink.kind === "parquet-sink" ? `Parquet ${sink.path}` : `InfluxDB ${target()}`;
  return `  ${id("sink", sink.name)}[/${label(sink.name, what, triggerText(sink.trigger))}/]`;
}

export function explainMermaid(plan: PlanNode): string {
  const sources = new Set(plan.sources.map((s) => s.name));
  const node = (name: string): string => (sources.has(name) ? id("source", name) : id("view", name));
  const lines = [
    "flowchart LR",
    ...plan.sources.map(sourceLine),
    ...plan.views.map(viewLine),
    ...plan.sinks.map(sinkLine),
    ...plan.views.flatMap((view) => viewInputs(view.body).map((input) => `  ${node(input)} --> ${id("view", view.name)}`)),
    ...plan.sinks.map((sink) => `  ${node(sink.query)} --> ${id("sink", sink.name)}`),
  ];
  return `${lines.join("\n")}\n`;
}
