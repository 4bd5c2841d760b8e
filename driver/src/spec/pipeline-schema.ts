/**
 * The pipeline spec's keys: types, defaults and documentation in one place. The README's
 * "Spec reference" section is generated from this file (`npm run docs`), and a test fails when
 * the README is stale.
 */
import {
  boolean,
  date,
  duration,
  integer,
  jsonPath,
  list,
  name,
  namedMap,
  object,
  oneOf,
  optional,
  required,
  setting,
  string,
  trigger,
  withDefault,
  type Decoder,
  type ObjectOf,
  type PartialObjectOf,
} from "./decoders.js";

export const FIELD_TYPES = ["string", "int", "long", "double", "boolean"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export const NUMERIC_FIELD_TYPES: readonly FieldType[] = ["int", "long", "double"];

export const TIME_UNITS = ["seconds", "milliseconds", "microseconds", "iso8601"] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** Bounds of `source.eventTime.notBefore`: the times InfluxDB can store, in whole days. */
export const NOT_BEFORE_MIN = "1678-01-01";
export const NOT_BEFORE_MAX = "2261-12-31";
/** The last day an event time may fall on: Spark's timestamps end with year 9999. */
export const EVENT_TIME_LAST_DAY = "9999-12-31";
/** Upper bound of `source.eventTime.maxAhead`, in days. */
export const MAX_AHEAD_DAYS = 36500;

export const STATISTIC_FUNCTIONS = ["mean", "min", "max", "stddev", "variance", "sum", "count"] as const;
export type StatisticFunction = (typeof STATISTIC_FUNCTIONS)[number];

const fieldSchema = object({
  path: required(jsonPath(), "Where the value is in the message, as a JSON path.", "$.parsedPayload.co2"),
  type: required(oneOf(FIELD_TYPES), "The value's type. Numbers of the wrong type and missing values become null."),
  required: withDefault(boolean(), "false", "A reading without this value is rejected to the dead-letter sink."),
});

const kafkaSchema = object({
  bootstrapServers: required(setting(), "Kafka brokers, comma-separated host:port.", "${KAFKA_BOOTSTRAP:-localhost:9092}"),
  topic: required(setting(), "The topic readings arrive on.", "live-data"),
  startingOffsets: withDefault(
    oneOf(["earliest", "latest"]),
    "earliest",
    "Where a query without a checkpoint starts. A query with a checkpoint always resumes from it.",
  ),
  maxOffsetsPerTrigger: optional(integer({ min: 1 }), "Upper bound of readings per micro-batch (back-pressure).", "50000"),
});

const sourceSchema = object({
  kafka: required(kafkaSchema, "The Kafka topic the readings come from."),
  fields: required(
    namedMap(fieldSchema),
    "The message fields to extract: column name -> `{path, type, required}`. The JSON is parsed once with a schema built from these paths.",
  ),
  eventTime: required(
    object({
      field: required(name(), "The field holding the reading's own time (not its arrival time).", "sent_at"),
      unit: required(oneOf(TIME_UNITS), "How that field encodes time: epoch seconds, milliseconds, microseconds, or an ISO-8601 string."),
      notBefore: withDefault(
        date({ min: NOT_BEFORE_MIN, max: NOT_BEFORE_MAX, why: "InfluxDB stores times from 1677-09-21 to 2262-04-11" }),
        "2000-01-01",
        `The earliest event time accepted (UTC midnight). An earlier value, a value after ${EVENT_TIME_LAST_DAY}, ` +
          "or one that is not a time (NaN, an unparseable string) is rejected as out of range, before it is converted, " +
          "so it can neither throw nor move the watermark.",
      ),
      maxAhead: optional(
        duration(),
        "How far the event time may be ahead of the reading's Kafka timestamp (its arrival). A reading further ahead is rejected. " +
          "Default: the watermark delay (1 day in a spec without windows). With windows it may not exceed the watermark: " +
          "the watermark follows the newest event time of all devices, so one reading N ahead moves it N ahead, " +
          `and every on-time reading of every classroom would then be dropped as late. At most ${MAX_AHEAD_DAYS} days.`,
        "2 minutes",
      ),
    }),
    "Event time: windows and the watermark use it. Readings whose event time is missing, out of range or too far ahead are rejected to the dead-letter sink.",
  ),
  watermark: optional(
    duration(),
    "How late a reading may arrive and still count in its windows. Required when there are windows: it bounds the state Spark keeps.",
    "2 minutes",
  ),
});

const registrySchema = object({
  path: required(setting(), "Where the registry file is (a local path, file:// or hdfs:// URL).", "${REGISTRY_PATH:-data/registry.csv}"),
  format: withDefault(oneOf(["csv", "json", "parquet"]), "csv", "File format. CSV files need a header row."),
  key: required(name(), "The registry column that identifies a device.", "DevEui"),
  joinOn: required(name(), "The message field that is matched against `key`.", "device_id"),
  columns: required(list(name(), { minItems: 1 }), "Registry columns added to every reading.", "[institute, profile, classroom]"),
  unregistered: withDefault(
    oneOf(["reject", "keep"]),
    "reject",
    "Readings from devices missing in the registry: `reject` sends them to the dead-letter sink, `keep` keeps them with null registry columns.",
  ),
});

const windowSchema = object({
  name: required(
    string({ pattern: /^[A-Za-z0-9_]+$/, patternText: "use letters, digits and _ (e.g. 5m)" }),
    "Names the window in SQL view names and in the InfluxDB `window` tag.",
    "5m",
  ),
  size: required(duration(), "Window length.", "5 minutes"),
  slide: optional(duration(), "How often a window starts. Must divide `size`. Default: equal to size (tumbling windows).", "1 minute"),
  groupBy: required(list(name(), { minItems: 1 }), "Columns (fields or registry columns) that form a group.", "[institute, classroom]"),
});

const statisticsSchema = object({
  metrics: required(list(name(), { minItems: 1 }), "Numeric fields to summarise.", "[temperature, co2]"),
  functions: withDefault(
    list(oneOf(STATISTIC_FUNCTIONS), { minItems: 1 }),
    "[mean, min, max, stddev, count]",
    "Functions computed per metric, window and group. `stddev` and `variance` are the sample ones; `count` counts non-null values; " +
      "the `sum` of an integer metric is left out, rather than wrapped around, if it ever passes 2^63.",
  ),
});

const correlationsSchema = object({
  pairs: optional(list(list(name())), "Explicit metric pairs.", "[[temperature, humidity], [co2, tvoc]]"),
  allPairsOf: optional(list(name()), "Every pair among these metrics.", "[temperature, humidity, co2]"),
});

function parquetSinkSchema(example: string, columns: string) {
  return object({
    path: required(setting(), "Output folder (local path, file:// or hdfs:// URL).", example),
    checkpoint: optional(setting(), "Checkpoint folder. Default: `<storage.checkpoints>/<pipeline name>/<sink name>`."),
    partitionBy: withDefault(list(name()), "[]", `Partition columns, e.g. ${columns}.`),
    trigger: withDefault(trigger(), "30 seconds", "Micro-batch interval, or `available-now`."),
  });
}

const influxSchema = object({
  version: required(oneOf(["1", "2"]), "InfluxDB major version: 1 writes to `/write?db=`, 2 to `/api/v2/write?org=&bucket=`."),
  url: required(setting(), "InfluxDB base URL.", "${INFLUXDB_URL:-http://localhost:8086}"),
  database: optional(string(), "Database (version 1).", "sensors"),
  org: optional(string(), "Organisation (version 2).", "schools"),
  bucket: optional(string(), "Bucket (version 2).", "sensors"),
  tokenEnv: optional(
    name(),
    "Name of the environment variable holding the token. Required for version 2. The token itself never appears in files, plans or logs.",
    "INFLUXDB_TOKEN",
  ),
  checkpoint: optional(setting(), "Checkpoint folder prefix for the InfluxDB queries. Default: `<storage.checkpoints>/<pipeline name>`."),
  trigger: withDefault(trigger(), "30 seconds", "Micro-batch interval of the InfluxDB queries."),
  refusedPath: optional(
    setting(),
    "Dead-letter folder for the points InfluxDB refuses (a 4xx answer other than 429: an unparseable line, a field type conflict, " +
      "a time outside the retention policy), kept with InfluxDB's reason while the other points go on. " +
      "Default: `influx-refused` beside the folder of `sinks.rejected.path`.",
    "${INFLUX_REFUSED_PATH:-.local-stack/data/schools/influx-refused}",
  ),
  measurements: withDefault(
    object({
      raw: withDefault(string(), "sensor_readings", "Measurement of raw readings."),
      statistics: withDefault(string(), "classroom_statistics", "Measurement of window statistics."),
      correlations: withDefault(string(), "classroom_correlations", "Measurement of window correlations."),
    }),
    "{}",
    "Measurement names.",
  ),
  raw: withDefault(
    object({
      enabled: withDefault(boolean(), "true", "Write raw readings to InfluxDB."),
      tags: withDefault(list(name()), "[]", "Columns written as tags; the other fields are written as fields.", "[institute, classroom, profile, device_id]"),
    }),
    "{}",
    "Raw points: one per valid reading, timestamped at its event time.",
  ),
});

const sinksSchema = object({
  raw: required(
    parquetSinkSchema("${RAW_PATH:-.local-stack/data/raw}", "`event_date` (the reading's UTC date)"),
    "Valid readings (fields, registry columns, event time, Kafka partition and offset) as Parquet, exactly once.",
  ),
  rejected: required(
    parquetSinkSchema("${REJECTED_PATH:-.local-stack/data/rejected}", "`kafka_date` (the UTC date it reached Kafka)"),
    "Rejected readings as Parquet: the raw message, the reason, Kafka partition, offset and timestamp.",
  ),
  influxdb: optional(influxSchema, "InfluxDB output of raw points, statistics and correlations."),
});

export const pipelineSchema = object({
  name: required(name(), "The pipeline's name: names the `sql/<name>/` folder and the Spark job.", "schools"),
  description: optional(string(), "Free text shown by `explain`."),
  shufflePartitions: withDefault(
    integer({ min: 1, max: 10000 }),
    "4",
    "Partitions of the windowed state. Fixed once a checkpoint exists (Spark restores it from the checkpoint).",
  ),
  source: required(sourceSchema, "Where readings come from and how they are parsed."),
  registry: required(registrySchema, "The sensor registry joined to every reading."),
  windows: withDefault(list(windowSchema), "[]", "Sliding event-time windows."),
  statistics: optional(statisticsSchema, "Statistics per window and group."),
  correlations: optional(correlationsSchema, "Pearson correlations per window and group."),
  storage: withDefault(
    object({
      checkpoints: withDefault(
        setting(),
        "${CHECKPOINT_DIR:-.local-stack/checkpoints}",
        "Folder under which each sink keeps its checkpoint, in `<pipeline name>/<sink name>`.",
      ),
    }),
    "{}",
    "Checkpoint location.",
  ),
  sinks: required(sinksSchema, "Outputs."),
});

type DecodedOf<D> = D extends Decoder<infer T, unknown> ? T : never;
type PartialOf<D> = D extends Decoder<unknown, infer P> ? P : never;

/** A spec that decoded completely, without a diagnostic: the only input of the later phases. */
export type PipelineSpec = DecodedOf<typeof pipelineSchema>;
export type SourceSpec = PipelineSpec["source"];
export type FieldSpecs = SourceSpec["fields"]["value"];
export type WindowSpec = DecodedOf<typeof windowSchema>;
export type ParquetSinkSpec = DecodedOf<ReturnType<typeof parquetSinkSchema>>;
export type InfluxSinkSpec = DecodedOf<typeof influxSchema>;

/**
 * A spec as far as it decoded: a part that was missing or did not decode is absent (and has its
 * diagnostic). The cross-reference checks take this type; a complete spec is one too.
 */
export type PartialSpec = PartialOf<typeof pipelineSchema>;
export type PartialWindowSpec = PartialOf<typeof windowSchema>;
export type PartialInfluxSinkSpec = PartialOf<typeof influxSchema>;
export type { ObjectOf, PartialObjectOf };
