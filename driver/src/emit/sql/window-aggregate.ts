/** window-aggregate: statistics and correlations per group over sliding event-time windows. */
import { READING_COLUMNS, WINDOW_COLUMNS } from "../../spec/columns.js";
import type { StatisticFunction } from "../../spec/pipeline-schema.js";
import type { StatisticColumn, WindowAggregateNode } from "../../plan/nodes.js";
import { identifier, select, stringLiteral } from "./sql-text.js";

/**
 * Sample standard deviation and variance; both are null for a single reading (not NaN) since
 * spark.sql.legacy.statisticalAggregate defaults to false.
 * https://spark.apache.org/docs/3.5.1/sql-migration-guide.html#upgrading-from-spark-sql-30-to-31
 */
const FUNCTIONS: Readonly<Record<StatisticFunction, string>> = {
  mean: "avg",
  min: "min",
  max: "max",
  stddev: "stddev_samp",
  variance: "var_samp",
  sum: "sum",
  count: "count",
};

/**
 * Every aggregate here is total on any value: avg, stddev, variance and corr compute in doubles
 * (an overflow is an infinity or NaN, which the line protocol leaves out), min, max and count
 * cannot overflow. Only the sum of integers can: `sum` wraps around past 2^63 with ANSI mode off
 * and throws with it on, `try_sum` is null instead, in both.
 * https://spark.apache.org/docs/3.5.1/api/sql/index.html#try_sum
 */
function aggregateSql(statistic: StatisticColumn): string {
  const fn = statistic.fn === "sum" && statistic.type !== "double" ? "try_sum" : FUNCTIONS[statistic.fn];
  return `${fn}(${identifier(statistic.metric)}) AS ${identifier(statistic.column)}`;
}

export function windowAggregateSql(node: WindowAggregateNode): string {
  const { size, slide } = node.window;
  const windowArgs = [READING_COLUMNS.eventTime, stringLiteral(size.text)];
  if (slide.ms !== size.ms) windowArgs.push(stringLiteral(slide.text));
  const groups = node.groupBy.map((c) => identifier(c.name));
  return select({
    columns: [
      `window.start AS ${WINDOW_COLUMNS.start}`,
      `window.end AS ${WINDOW_COLUMNS.end}`,
      ...groups,
      `count(*) AS ${WINDOW_COLUMNS.readings}`,
      ...node.statistics.map(aggregateSql),
      // corr() skips readings where either metric is null; the pair count says how many it used.
      ...node.correlations.flatMap((c) => {
        const [a, b] = [identifier(c.a), identifier(c.b)];
        return [
          `corr(${a}, ${b}) AS ${identifier(c.column)}`,
          `count_if(${a} IS NOT NULL AND ${b} IS NOT NULL) AS ${identifier(c.pairsColumn)}`,
        ];
      }),
    ],
    from: node.from,
    groupBy: [`window(${windowArgs.join(", ")})`, ...groups],
  });
}
