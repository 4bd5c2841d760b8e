/**
 * Cross-reference checks (validate-spec.ts): names that must exist, be numeric, be unique or
 * be writable to InfluxDB, and windows Spark can run with bounded state.
 */
import { describe, expect, it } from "vitest";
import { at, BASE_SPEC, check, edit, expectDiagnostics, expectOnly, expectValid } from "./spec-fixture.js";

const NUMERIC_FIELDS_HINT_PART = "temperature, humidity, battery, co2, tvoc";
const WINDOWS_BLOCK = BASE_SPEC.slice(BASE_SPEC.indexOf("windows:\n"), BASE_SPEC.indexOf("statistics:\n"));
const ALL_PAIRS = "allPairsOf: [temperature, humidity, co2, tvoc]";
const PIR_LINE = "    pir:               { path: $.parsedPayload.pir, type: string }\n";

function withField(line: string): string {
  return edit(BASE_SPEC, PIR_LINE, `${PIR_LINE}${line}\n`);
}

describe("windows", () => {
  it("slide larger than size (bad-window at the slide)", () => {
    const text = edit(BASE_SPEC, "    slide: 1 minute", "    slide: 10 minutes");
    expectOnly(text, {
      code: "bad-window",
      at: at(text, "slide: 10 minutes", "10 minutes"),
      message: 'window "5m": slide 10 minutes is larger than size 5 minutes, so readings between windows would be lost',
      hint: "make slide at most size",
    });
  });

  it("size not a multiple of slide", () => {
    const text = edit(BASE_SPEC, "    slide: 1 minute", "    slide: 2 minutes");
    expectOnly(text, {
      code: "bad-window",
      at: at(text, "slide: 2 minutes", "2 minutes"),
      message: 'window "5m": size 5 minutes is not a multiple of slide 2 minutes',
      hint: ["choose a slide that divides size"],
    });
  });

  it("compares durations, not their text: 300 s slide of a 5 minute window is a tumbling window", () => {
    const text = edit(BASE_SPEC, "    slide: 1 minute", "    slide: 300 s");
    expect(expectValid(text).windows.value[0]!.slide?.value).toEqual({ ms: 300_000, text: "5 minutes" });
  });

  it("a window without slide is tumbling and valid", () => {
    expectValid(edit(BASE_SPEC, "    slide: 1 minute\n", ""));
  });

  it("windows without a watermark (missing-watermark at the windows list)", () => {
    const text = edit(BASE_SPEC, "  watermark: 2 minutes\n", "");
    expectOnly(text, {
      code: "missing-watermark",
      at: at(text, "windows:\n  - name: 5m", "- name: 5m"),
      message: "windows need a watermark: without one Spark keeps every window's state forever and never closes a window",
      hint: 'add source.watermark, e.g. "2 minutes"',
    });
  });

  it("no windows and no watermark is valid when nothing needs windows", () => {
    let text = edit(BASE_SPEC, "  watermark: 2 minutes\n", "");
    text = edit(text, WINDOWS_BLOCK, "");
    text = edit(text, "statistics:\n  metrics: [temperature, humidity, co2, tvoc, pressure, light_level]\n  functions: [mean, min, max, stddev, count]\n", "");
    text = edit(text, `correlations:\n  ${ALL_PAIRS}\n`, "");
    expect(expectValid(text).windows.value).toEqual([]);
  });

  it("statistics without any window", () => {
    const text = edit(BASE_SPEC, WINDOWS_BLOCK, "");
    expectOnly(text, {
      code: "bad-window",
      at: at(text, "statistics:\n  metrics", "metrics"),
      message: "statistics and correlations are computed per window, but no window is declared",
      hint: "add a windows: entry",
    });
  });

  it("duplicate window names, compared without case", () => {
    const text = edit(BASE_SPEC, "  - name: 1h", "  - name: 5M");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "  - name: 5M", "5M"),
      message: `duplicate window name "5M" (first at line ${at(text, "  - name: 5m").line}; Spark compares names without case)`,
      hint: "rename one of them",
    });
  });

  it("a groupBy column that is neither a field nor a registry column suggests the closest", () => {
    const text = edit(BASE_SPEC, "    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, clasroom]\n  - name: 1h");
    const d = expectOnly(text, {
      code: "unknown-field",
      at: at(text, "[institute, clasroom]", "clasroom"),
      message: 'window "5m" groups by "clasroom", which is not a field or registry column',
      hint: ['did you mean "classroom"?', "allowed: device_id, device_name,", "institute, profile, classroom, event_date"],
    });
    expect(d.hint).not.toContain("event_time");
  });

  it("grouping by event_time is refused", () => {
    const text = edit(BASE_SPEC, "    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, event_time]\n  - name: 1h");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "[institute, event_time]", "event_time"),
      message: 'window "5m" groups by "event_time", which is not a field or registry column',
    });
  });

  it("a groupBy column listed twice", () => {
    const text = edit(BASE_SPEC, "    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, institute]\n  - name: 1h");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "[institute, institute]", "institute]"),
      message: ['duplicate groupBy column in window "5m" name "institute"'],
    });
  });

  it("a groupBy column that InfluxDB cannot take as a tag key", () => {
    let text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, _room]");
    text = edit(text, "    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, _room]\n  - name: 1h");
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, "[institute, _room]", "_room"),
      message: 'groupBy column "_room" becomes an InfluxDB tag: a tag key cannot begin with "_" (InfluxDB reserves that namespace)',
      hint: "rename the column",
    });
  });
});

describe("statistics", () => {
  const METRICS = "metrics: [temperature, humidity, co2, tvoc, pressure, light_level]";

  it("a metric that is not a field suggests the closest numeric field", () => {
    const text = edit(BASE_SPEC, METRICS, "metrics: [temprature, humidity]");
    const d = expectOnly(text, {
      code: "unknown-field",
      at: at(text, "metrics: [temprature", "temprature"),
      message: 'statistics.metrics names "temprature", which is not a message field',
      hint: ['did you mean "temperature"?', NUMERIC_FIELDS_HINT_PART],
    });
    expect(d.hint).not.toContain("pir");
    expect(d.hint).not.toContain("device_id");
  });

  it("a metric that is not numeric (pir is a string)", () => {
    const text = edit(BASE_SPEC, METRICS, "metrics: [temperature, pir]");
    expectOnly(text, {
      code: "non-numeric-field",
      at: at(text, "metrics: [temperature, pir]", "pir"),
      message: 'statistics.metrics names "pir", which is string, not a number',
      hint: "use a field of type int, long, double",
    });
  });

  it("a metric listed twice", () => {
    const text = edit(BASE_SPEC, METRICS, "metrics: [co2, humidity, co2]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "metrics: [co2, humidity, co2]", "co2]"),
      message: ['duplicate statistics metric name "co2"'],
    });
  });

  it("a function listed twice", () => {
    const text = edit(BASE_SPEC, "functions: [mean, min, max, stddev, count]", "functions: [mean, max, mean]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "functions: [mean, max, mean]", "mean]"),
      message: ['duplicate statistics function name "mean"'],
    });
  });
});

describe("correlations", () => {
  it("a pair naming an unknown field", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "pairs: [[temperature, humdity]]");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "[[temperature, humdity]]", "humdity"),
      message: 'correlations.pairs names "humdity", which is not a message field',
      hint: ['did you mean "humidity"?'],
    });
  });

  it("allPairsOf naming an unknown field", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "allPairsOf: [temperature, co3]");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "allPairsOf: [temperature, co3]", "co3"),
      message: 'correlations.allPairsOf names "co3", which is not a message field',
      hint: ['did you mean "co2"?'],
    });
  });

  it("allPairsOf naming a non-numeric field", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "allPairsOf: [temperature, device_name]");
    expectOnly(text, {
      code: "non-numeric-field",
      at: at(text, "allPairsOf: [temperature, device_name]", "device_name"),
      message: 'correlations.allPairsOf names "device_name", which is string, not a number',
    });
  });

  it("a metric correlated with itself (reported at the second one)", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "pairs: [[co2, co2]]");
    expectOnly(text, {
      code: "self-correlation",
      at: at(text, "[[co2, co2]]", "co2]]"),
      message: '"co2" is correlated with itself (always 1)',
      hint: "pair two different metrics",
    });
  });

  it("the pair (a, b) and then (b, a)", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "pairs:\n    - [co2, tvoc]\n    - [humidity, temperature]\n    - [tvoc, co2]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "    - [tvoc, co2]", "[tvoc, co2]"),
      message: `the pair tvoc/co2 is listed twice (first at line ${at(text, "    - [co2, tvoc]").line})`,
      hint: "remove one",
    });
  });

  it("a pair of three metrics", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "pairs: [[co2, tvoc, humidity]]");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "pairs: [[co2, tvoc, humidity]]", "[co2"),
      message: "a correlation pair has two metrics, found 3",
      hint: "write [metric_a, metric_b]",
    });
  });

  it("correlations with neither pairs nor allPairsOf", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "{}");
    expectOnly(text, {
      code: "missing-key",
      at: at(text, "correlations:\n  {}", "{}"),
      message: "correlations needs pairs or allPairsOf",
      hint: "add pairs: [[a, b]] or allPairsOf: [a, b, c]",
    });
  });

  it("allPairsOf with one metric", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "allPairsOf: [co2]");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "allPairsOf: [co2]", "[co2]"),
      message: "allPairsOf needs at least two metrics",
    });
  });

  it("allPairsOf with a metric twice", () => {
    const text = edit(BASE_SPEC, ALL_PAIRS, "allPairsOf: [co2, tvoc, co2]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "allPairsOf: [co2, tvoc, co2]", "co2]"),
      message: ['duplicate correlations.allPairsOf metric name "co2"'],
    });
  });

  it("pairs and allPairsOf together are valid", () => {
    expectValid(edit(BASE_SPEC, ALL_PAIRS, `${ALL_PAIRS}\n  pairs: [[co2, pressure]]`));
  });
});

describe("fields, registry and event time", () => {
  it("a field named like a column the pipeline adds (event_time)", () => {
    const text = withField("    event_time:        { path: $.ts, type: long }");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "    event_time:  ", "event_time"),
      message: 'field "event_time" is a column the pipeline adds itself',
      hint: ["choose another name; reserved: event_time, event_date, kafka_partition"],
    });
  });

  it("a registry column named like a column the pipeline adds (window)", () => {
    const text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, window]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "classroom, window]", "window"),
      message: 'registry column "window" is a column the pipeline adds itself',
      hint: ["reserved:", "window_start, window_end, readings, window"],
    });
  });

  it("a registry column with the name of a field, compared without case", () => {
    const text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, CO2]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "classroom, CO2]", "CO2"),
      message: `duplicate column name "CO2" (first at line ${at(text, "    co2:  ").line}; Spark compares names without case)`,
    });
  });

  it("the registry key listed among the registry columns", () => {
    const text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, deveui]");
    expectOnly(text, {
      code: "duplicate-name",
      at: at(text, "  key: DevEui", "DevEui"),
      message: 'registry.key "DevEui" is also listed in registry.columns',
    });
  });

  it("registry.joinOn that is not a field", () => {
    const text = edit(BASE_SPEC, "joinOn: device_id", "joinOn: deviceid");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "joinOn: deviceid", "deviceid"),
      message: 'registry.joinOn "deviceid" is not a message field',
      hint: ['did you mean "device_id"?', "allowed: device_id, device_name, gateway"],
    });
  });

  it("an event time field that does not exist", () => {
    const text = edit(BASE_SPEC, "    field: sent_at", "    field: sentat");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "    field: sentat", "sentat"),
      message: 'source.eventTime.field "sentat" is not a message field',
      hint: ['did you mean "sent_at"?'],
    });
  });

  it("an event time unit that does not fit the field's type (iso8601 on a long)", () => {
    const text = edit(BASE_SPEC, "unit: milliseconds", "unit: iso8601");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "unit: iso8601", "iso8601"),
      message: 'event time unit "iso8601" needs a field of type string, but "sent_at" is long',
      hint: "change the field's type or the unit",
    });
  });

  it("an epoch unit on a string field", () => {
    let text = edit(BASE_SPEC, "    field: sent_at", "    field: device_name");
    text = edit(text, "unit: milliseconds", "unit: seconds");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "unit: seconds", "seconds"),
      message: 'event time unit "seconds" needs a field of type int or long or double, but "device_name" is string',
    });
  });

  it("iso8601 on a string field is valid", () => {
    let text = edit(BASE_SPEC, "    field: sent_at", "    field: device_name");
    text = edit(text, "unit: milliseconds", "unit: iso8601");
    expectValid(text);
  });
});

describe("sinks", () => {
  it("sinks.raw.partitionBy of an unknown column", () => {
    const text = edit(BASE_SPEC, "partitionBy: [event_date]", "partitionBy: [event_day]");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "partitionBy: [event_day]", "event_day"),
      message: 'sinks.raw.partitionBy "event_day" is not a column of that sink',
      hint: ['did you mean "event_date"?', "event_time, event_date, kafka_partition"],
    });
  });

  it("sinks.rejected.partitionBy of a column only valid readings have", () => {
    const text = edit(BASE_SPEC, "partitionBy: [kafka_date]", "partitionBy: [event_date]");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "partitionBy: [event_date]\n    trigger: 30 seconds\n  influxdb", "event_date"),
      message: 'sinks.rejected.partitionBy "event_date" is not a column of that sink',
      hint: "allowed: kafka_partition, kafka_offset, kafka_timestamp, kafka_date",
    });
  });

  it("InfluxDB 2 without org, bucket and tokenEnv: three diagnostics at the influxdb mapping", () => {
    const text = edit(BASE_SPEC, "    version: 1", "    version: 2");
    const influx = at(text, "  influxdb:\n    version: 2", "version");
    expectDiagnostics(check(text).diagnostics, [
      { code: "missing-key", at: influx, message: 'sinks.influxdb is missing "org", which InfluxDB 2 needs', hint: "add org: <your organisation>" },
      { code: "missing-key", at: influx, message: 'sinks.influxdb is missing "bucket", which InfluxDB 2 needs', hint: "add bucket: <your bucket>" },
      {
        code: "missing-key",
        at: influx,
        message: 'sinks.influxdb is missing "tokenEnv", which InfluxDB 2 needs',
        hint: "add tokenEnv: INFLUXDB_TOKEN and export the token in that variable",
      },
    ]);
  });

  it("InfluxDB 2 with org, bucket and tokenEnv is valid; the token variable need not be set", () => {
    const text = edit(BASE_SPEC, "    version: 1", "    version: 2\n    org: schools\n    bucket: sensors\n    tokenEnv: INFLUXDB_TOKEN");
    expect(expectValid(text).sinks.influxdb?.tokenEnv?.value).toBe("INFLUXDB_TOKEN");
  });

  it("InfluxDB 1 without database", () => {
    const text = edit(BASE_SPEC, "    database: sensors\n", "");
    expectOnly(text, {
      code: "missing-key",
      at: at(text, "  influxdb:\n    version: 1", "version"),
      message: 'sinks.influxdb is missing "database", which InfluxDB 1 needs',
      hint: "add database: sensors",
    });
  });

  it("an InfluxDB URL that is not http(s), after interpolation", () => {
    const text = BASE_SPEC;
    const d = expectOnly(
      text,
      {
        code: "bad-value",
        at: at(text, "url: ${INFLUXDB_URL:-http://localhost:8086}", "${"),
        message: 'sinks.influxdb.url "localhost:8086" is not an http(s) URL',
        hint: "write e.g. http://localhost:8086",
      },
      { INFLUXDB_URL: "localhost:8086" },
    );
    expect(d.pos.file).toBe("spec.yaml");
  });

  it("an invalid measurement name (_internal)", () => {
    const text = edit(BASE_SPEC, "      raw: sensor_readings", "      raw: _internal");
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, "      raw: _internal", "_internal"),
      message: 'measurement "_internal": a measurement cannot begin with "_" (InfluxDB reserves that namespace)',
      hint: "choose another measurement name",
    });
  });

  it('"time" is a valid measurement name', () => {
    expectValid(edit(BASE_SPEC, "      raw: sensor_readings", "      raw: time"));
  });

  it('a raw field named "time" cannot be an InfluxDB field key', () => {
    const text = withField("    time:              { path: $.time, type: long }");
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, "    time:   ", "time"),
      message: 'field "time" is written as an InfluxDB field key: "time" cannot be a field key (InfluxDB uses it for the timestamp)',
      hint: "rename it",
    });
  });

  it('a field named "time" used as a raw tag cannot be an InfluxDB tag key', () => {
    let text = withField("    time:              { path: $.time, type: long }");
    text = edit(text, "tags: [institute, classroom, profile, device_id]", "tags: [institute, classroom, profile, device_id, time]");
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, "device_id, time]", "time"),
      message: 'raw tag "time" is written as an InfluxDB tag key: "time" cannot be a tag key (InfluxDB uses it for the timestamp)',
    });
  });

  it('a field named "time" is fine when it is the event time (it becomes the timestamp)', () => {
    let text = edit(BASE_SPEC, "    sent_at:  ", "    time:     ");
    text = edit(text, "    field: sent_at", "    field: time");
    expectValid(text);
  });

  it('a field named "time" is fine when raw points are not written', () => {
    let text = withField("    time:              { path: $.time, type: long }");
    text = edit(text, "    raw:\n      tags:", "    raw:\n      enabled: false\n      tags:");
    expectValid(text);
  });

  it('a field named "time" is fine without an InfluxDB sink', () => {
    const text = withField("    time:              { path: $.time, type: long }");
    const influx = text.slice(text.indexOf("  influxdb:\n"));
    expectValid(edit(text, influx, ""));
  });

  it("a raw tag that is not a column", () => {
    const text = edit(BASE_SPEC, "tags: [institute, classroom, profile, device_id]", "tags: [institute, room]");
    expectOnly(text, {
      code: "unknown-field",
      at: at(text, "tags: [institute, room]", "room"),
      message: 'sinks.influxdb.raw.tags "room" is not a field or registry column',
    });
  });
});
