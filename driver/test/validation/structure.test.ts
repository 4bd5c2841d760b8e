/**
 * Structural problems: YAML syntax, unknown and missing keys, wrong types, bad values,
 * durations, JSON paths, names and `${...}` interpolation. Every test starts from the valid
 * conf/pipeline.yaml and changes one thing.
 */
import { describe, expect, it } from "vitest";
import { at, BASE_SPEC, check, edit, expectDiagnostics, expectOnly, expectValid } from "./spec-fixture.js";

describe("the base spec", () => {
  it("conf/pipeline.yaml is valid without any environment variable", () => {
    const spec = expectValid(BASE_SPEC);
    expect(spec.name.value).toBe("schools");
    expect(spec.source.kafka.bootstrapServers.value).toBe("localhost:9092");
  });
});

describe("yaml-syntax", () => {
  it("a nested mapping on one line is reported at the parser's position, with no decoding", () => {
    const text = edit(BASE_SPEC, "  key: DevEui\n", "  key: DevEui: x\n");
    const { spec, diagnostics } = check(text);
    expect(spec).toBeUndefined();
    expectDiagnostics(diagnostics, [
      {
        code: "yaml-syntax",
        at: at(text, "  key: DevEui: x", "DevEui"),
        message: "YAML: Nested mappings are not allowed in compact mappings",
        hint: "fix the YAML syntax at this place",
      },
    ]);
  });

  it("a duplicate key is reported at its second occurrence", () => {
    const text = edit(BASE_SPEC, "  format: csv\n", "  format: csv\n  format: json\n");
    expectOnly(text, {
      code: "yaml-syntax",
      at: at(text, "  format: json", "format"),
      message: "YAML: Map keys must be unique",
    });
  });

  it("a tab used as indentation", () => {
    const text = edit(BASE_SPEC, "  joinOn: device_id\n", "  joinOn: device_id\n\tcolumns2: x\n");
    const { diagnostics } = check(text);
    expect(diagnostics[0]).toMatchObject({
      code: "yaml-syntax",
      pos: { file: "spec.yaml", ...at(text, "\tcolumns2") },
      message: "YAML: Tabs are not allowed as indentation",
    });
  });
});

describe("unknown-key", () => {
  it('"watermrak" suggests "watermark" and lists the allowed keys (and the watermark is then missing)', () => {
    const text = edit(BASE_SPEC, "  watermark: 2 minutes", "  watermrak: 2 minutes");
    const { diagnostics } = check(text);
    expectDiagnostics(diagnostics, [
      {
        code: "unknown-key",
        at: at(text, "  watermrak:", "watermrak"),
        message: 'unknown key "source.watermrak"',
        hint: 'did you mean "watermark"? allowed: kafka, fields, eventTime, watermark',
      },
      {
        code: "missing-watermark",
        at: at(text, "windows:\n  - name: 5m", "- name: 5m"),
      },
    ]);
  });

  it("a top-level unknown key has no prefix and no suggestion when nothing is close", () => {
    const text = edit(BASE_SPEC, "name: schools\n", "name: schools\nowner: ops\n");
    expectOnly(text, {
      code: "unknown-key",
      at: at(text, "owner: ops"),
      message: 'unknown key "owner"',
      hint: ["allowed: name, description, shufflePartitions, source, registry, windows, statistics, correlations, storage, sinks"],
    });
  });

  it("an unknown key inside a list item names its index", () => {
    const text = edit(BASE_SPEC, "    slide: 15 minutes\n", "    slide: 15 minutes\n    grupBy: [institute]\n");
    expectOnly(text, {
      code: "unknown-key",
      at: at(text, "    grupBy: [institute]", "grupBy"),
      message: 'unknown key "windows[1].grupBy"',
      hint: 'did you mean "groupBy"? allowed: name, size, slide, groupBy',
    });
  });
});

describe("missing-key", () => {
  it("a missing required key is reported at its mapping, naming the key", () => {
    const text = edit(BASE_SPEC, "    topic: ${KAFKA_TOPIC:-live-data}\n", "");
    expectOnly(text, {
      code: "missing-key",
      at: at(text, "  kafka:\n    bootstrapServers", "bootstrapServers"),
      message: 'source.kafka is missing the key "topic"',
      hint: "add topic: (The topic readings arrive on.)",
    });
  });

  it('a missing top-level key names "the spec"', () => {
    const text = edit(BASE_SPEC, "name: schools\n", "");
    expectOnly(text, {
      code: "missing-key",
      at: at(text, "description: Classroom", "description"),
      message: 'the spec is missing the key "name"',
      hint: ["add name:"],
    });
  });

  it("a field without a type", () => {
    const text = edit(BASE_SPEC, "{ path: $.deviceName, type: string }", "{ path: $.deviceName }");
    expectOnly(text, {
      code: "missing-key",
      at: at(text, "{ path: $.deviceName }", "{"),
      message: 'source.fields.device_name is missing the key "type"',
    });
  });
});

describe("wrong-type", () => {
  it("maxOffsetsPerTrigger: lots", () => {
    const text = edit(BASE_SPEC, "maxOffsetsPerTrigger: 50000", "maxOffsetsPerTrigger: lots");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "maxOffsetsPerTrigger: lots", "lots"),
      message: 'source.kafka.maxOffsetsPerTrigger must be a whole number, found string "lots"',
      hint: "write a whole number here",
    });
  });

  it("a list where a single value is expected", () => {
    const text = edit(BASE_SPEC, "  format: csv", "  format: [csv]");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "  format: [csv]", "[csv]"),
      message: "registry.format must be one of csv, json, parquet, found a list",
    });
  });

  it("a string where true/false is expected", () => {
    const text = edit(BASE_SPEC, "{ path: $.DevEui, type: string, required: true }", "{ path: $.DevEui, type: string, required: yes }");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "required: yes", "yes"),
      message: 'source.fields.device_id.required must be true or false, found string "yes"',
    });
  });

  it("a scalar where a list is expected", () => {
    const text = edit(BASE_SPEC, "partitionBy: [event_date]", "partitionBy: event_date");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "partitionBy: event_date", "event_date"),
      message: 'sinks.raw.partitionBy must be a list of name, found string "event_date"',
      hint: "write a list of name here",
    });
  });
});

describe("bad-value", () => {
  it("a value outside an enumeration suggests the closest one and lists the others", () => {
    const text = edit(BASE_SPEC, "startingOffsets: earliest", "startingOffsets: latests");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "startingOffsets: latests", "latests"),
      message: 'source.kafka.startingOffsets "latests" is not allowed',
      hint: 'did you mean "latest"? allowed: earliest, latest',
    });
  });

  it("an unknown statistics function", () => {
    const text = edit(BASE_SPEC, "functions: [mean, min, max, stddev, count]", "functions: [mean, median]");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "functions: [mean, median]", "median"),
      message: 'statistics.functions[1] "median" is not allowed',
      hint: 'did you mean "mean"? allowed: mean, min, max, stddev, variance, sum, count',
    });
  });

  it('a field name that is not an identifier ("co2-ppm")', () => {
    const text = edit(
      BASE_SPEC,
      "    pir:               { path: $.parsedPayload.pir, type: string }\n",
      "    pir:               { path: $.parsedPayload.pir, type: string }\n    co2-ppm:           { path: $.parsedPayload.co2ppm, type: double }\n",
    );
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "    co2-ppm:", "co2-ppm"),
      message: 'source.fields key "co2-ppm" is not valid',
      hint: "use letters, digits and _, starting with a letter or _ (e.g. co2_ppm)",
    });
  });

  it("a window name with a dash", () => {
    const text = edit(BASE_SPEC, "  - name: 1h", "  - name: 1-h");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "  - name: 1-h", "1-h"),
      message: 'windows[1].name "1-h" is not valid',
      hint: "use letters, digits and _ (e.g. 5m)",
    });
  });

  it("an integer out of range", () => {
    const text = edit(BASE_SPEC, "name: schools\n", "name: schools\nshufflePartitions: 0\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "shufflePartitions: 0", "0"),
      message: "shufflePartitions is 0, out of range",
      hint: "write an integer from 1 to 10000",
    });
  });

  it("an empty list where at least one item is needed", () => {
    const text = edit(BASE_SPEC, "metrics: [temperature, humidity, co2, tvoc, pressure, light_level]", "metrics: []");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "metrics: []", "[]"),
      message: "statistics.metrics needs at least 1 item",
    });
  });

  it("an unsupported InfluxDB version lists 1 and 2", () => {
    const text = edit(BASE_SPEC, "    version: 1", "    version: 3");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "    version: 3", "3"),
      message: 'sinks.influxdb.version "3" is not allowed',
      hint: ["allowed: 1, 2"],
    });
  });

  // See driver/test/unit/decoders.test.ts: unquoted numbers skip the name pattern.
  it("an unquoted number as a registry column is rejected like the quoted one", () => {
    const text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, 2020]");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "classroom, 2020]", "2020"),
      message: 'registry.columns[3] "2020" is not valid',
    });
  });

  it("the quoted number as a registry column is rejected", () => {
    const text = edit(BASE_SPEC, "columns: [institute, profile, classroom]", 'columns: [institute, profile, classroom, "2020"]');
    expectOnly(text, {
      code: "bad-value",
      at: at(text, 'classroom, "2020"]', '"2020"'),
      message: 'registry.columns[3] "2020" is not valid',
    });
  });
});

describe("bad-duration", () => {
  it('"5 minuts" suggests "minutes"', () => {
    const text = edit(BASE_SPEC, "slide: 15 minutes", "slide: 5 minuts");
    expectOnly(text, {
      code: "bad-duration",
      at: at(text, "slide: 5 minuts", "5 minuts"),
      message: 'windows[1].slide: "minuts" is not a time unit',
      hint: 'did you mean "minutes"? allowed: milliseconds, seconds, minutes, hours, days',
    });
  });

  // The same mistake in source.watermark: see follow-up-diagnostics.test.ts, which documents
  // that a spurious missing-watermark follows it.
  it('"5 minuts" as the watermark is reported at the watermark', () => {
    const text = edit(BASE_SPEC, "watermark: 2 minutes", "watermark: 5 minuts");
    expect(check(text).diagnostics[0]).toEqual({
      code: "bad-duration",
      pos: { file: "spec.yaml", ...at(text, "watermark: 5 minuts", "5 minuts") },
      message: 'source.watermark: "minuts" is not a time unit',
      hint: 'did you mean "minutes"? allowed: milliseconds, seconds, minutes, hours, days',
    });
  });

  it('"0 seconds" as a trigger', () => {
    const text = edit(BASE_SPEC, "    partitionBy: [event_date]\n    trigger: 30 seconds", "    partitionBy: [event_date]\n    trigger: 0 seconds");
    expectOnly(text, {
      code: "bad-duration",
      at: at(text, "trigger: 0 seconds", "0 seconds"),
      message: "sinks.raw.trigger: a duration must be longer than zero",
    });
  });

  it("a window size that is not a duration", () => {
    const text = edit(BASE_SPEC, "    size: 1 hour", "    size: an hour");
    expectOnly(text, {
      code: "bad-duration",
      at: at(text, "    size: an hour", "an hour"),
      message: 'windows[1].size: "an hour" is not a duration',
    });
  });

  it("a bare number is the wrong type, not a duration", () => {
    const text = edit(BASE_SPEC, "    partitionBy: [event_date]\n    trigger: 30 seconds", "    partitionBy: [event_date]\n    trigger: 30");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "    trigger: 30\n", "30"),
      message: 'sinks.raw.trigger must be a duration such as "5 minutes", found number 30',
      hint: 'write a duration such as "5 minutes" here',
    });
  });

  it("available-now is a valid trigger", () => {
    const text = edit(BASE_SPEC, "    partitionBy: [event_date]\n    trigger: 30 seconds", "    partitionBy: [event_date]\n    trigger: available-now");
    expect(expectValid(text).sinks.raw.trigger.value).toEqual({ kind: "available-now" });
  });
});

describe("bad-json-path", () => {
  it("a wildcard in a field path", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.co2,", 'path: "$.parsedPayload[*].co2",');
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, 'path: "$.parsedPayload[*].co2"', '"$.parsedPayload[*].co2"'),
      message: 'source.fields.co2.path: unexpected "[" at character 16 (wildcards and filters are not supported)',
      hint: `write "$.a.b", "$.a[0].b" or "$['odd name'].b"`,
    });
  });

  it("a path without $", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.co2,", "path: parsedPayload.co2,");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: parsedPayload.co2", "parsedPayload.co2"),
      message: 'source.fields.co2.path: "parsedPayload.co2" must start with "$" (the message root)',
    });
  });

  it("recursive descent", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.co2,", "path: $..co2,");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: $..co2", "$..co2"),
      message: 'source.fields.co2.path: recursive descent ".." is not supported at character 2',
    });
  });

  it("a path whose first step is an index", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.co2,", 'path: "$[0]",');
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, 'path: "$[0]"', '"$[0]"'),
      message: 'source.fields.co2.path: "$[0]" must name a member of the message, e.g. "$.DevEui"',
    });
  });

  it("two fields that need different shapes at one path", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.tvoc,", "path: $.parsedPayload.co2.tvoc,");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: $.parsedPayload.co2.tvoc", "$.parsedPayload.co2.tvoc"),
      message: 'field "tvoc": its path treats $.parsedPayload.co2 as an object, but field "co2" reads it differently',
      hint: "make the paths agree on the message's shape",
    });
  });

  it("two fields that read one path with different types", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.tvoc, type: double", "path: $.parsedPayload.co2, type: long");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: $.parsedPayload.co2, type: long", "$.parsedPayload.co2"),
      message: 'field "tvoc": its path treats $.parsedPayload.co2 as a value of type long, but field "co2" reads it differently',
    });
  });

  it("an odd member name in quotes is valid", () => {
    const text = edit(BASE_SPEC, "path: $.parsedPayload.co2,", `path: "$.parsedPayload['co2 ppm']",`);
    expectValid(text);
  });
});

describe("unset-variable and bad-interpolation", () => {
  const TOPIC = "topic: ${KAFKA_TOPIC:-live-data}";

  it("a variable without a default that is not set", () => {
    const text = edit(BASE_SPEC, TOPIC, "topic: ${KAFKA_TOPIC}");
    expectOnly(text, {
      code: "unset-variable",
      at: at(text, "topic: ${KAFKA_TOPIC}", "${KAFKA_TOPIC}"),
      message: "source.kafka.topic uses ${KAFKA_TOPIC}, which is not set and has no default",
      hint: "export KAFKA_TOPIC=... before running, or write ${KAFKA_TOPIC:-default}",
    });
  });

  it("the same spec is valid when the variable is set, and keeps the template", () => {
    const text = edit(BASE_SPEC, TOPIC, "topic: ${KAFKA_TOPIC}");
    const spec = expectValid(text, { KAFKA_TOPIC: "readings" });
    expect(spec.source.kafka.topic).toMatchObject({ template: "${KAFKA_TOPIC}", value: "readings" });
  });

  it("an empty variable counts as unset", () => {
    const text = edit(BASE_SPEC, TOPIC, "topic: ${KAFKA_TOPIC}");
    expectOnly(text, { code: "unset-variable", at: at(text, "topic: ${KAFKA_TOPIC}", "${KAFKA_TOPIC}"), message: ["${KAFKA_TOPIC}"] }, { KAFKA_TOPIC: "" });
  });

  it("a default makes it valid without the variable; a set variable wins over the default", () => {
    expect(expectValid(BASE_SPEC).source.kafka.topic.value).toBe("live-data");
    expect(expectValid(BASE_SPEC, { KAFKA_TOPIC: "other" }).source.kafka.topic.value).toBe("other");
  });

  it("an unclosed ${ in a setting", () => {
    const text = edit(BASE_SPEC, TOPIC, "topic: ${KAFKA_TOPIC");
    expectOnly(text, {
      code: "bad-interpolation",
      at: at(text, "topic: ${KAFKA_TOPIC", "${KAFKA_TOPIC"),
      message: 'source.kafka.topic: unclosed "${" at character 1',
      hint: 'write ${NAME} or ${NAME:-default}; "$$" for a literal "$"',
    });
  });

  it("${...} in a key that is not a setting (a string)", () => {
    const text = edit(BASE_SPEC, "description: Classroom", "description: ${DESCRIPTION:-x} Classroom");
    expectOnly(text, {
      code: "bad-interpolation",
      at: at(text, "description: ${DESCRIPTION", "${"),
      message: "description cannot use ${...}: variables are only resolved in endpoint and path settings",
      hint: "write the value itself here, or override it in a profile (--profile)",
    });
  });

  it("${...} in an InfluxDB measurement name", () => {
    const text = edit(BASE_SPEC, "      raw: sensor_readings", "      raw: ${MEASUREMENT}");
    expectOnly(text, {
      code: "bad-interpolation",
      at: at(text, "      raw: ${MEASUREMENT}", "${"),
      message: ["sinks.influxdb.measurements.raw cannot use ${...}"],
    });
  });

  it("${...} in a key that is not a setting (a number)", () => {
    const text = edit(BASE_SPEC, "maxOffsetsPerTrigger: 50000", "maxOffsetsPerTrigger: ${MAX_OFFSETS}");
    expectOnly(
      text,
      {
        code: "bad-interpolation",
        at: at(text, "maxOffsetsPerTrigger: ${MAX_OFFSETS}", "${MAX_OFFSETS}"),
        message: ["source.kafka.maxOffsetsPerTrigger cannot use ${...}"],
      },
      { MAX_OFFSETS: "10" },
    );
  });

  it("${...} in a key that is not a setting (a duration)", () => {
    const text = edit(
      BASE_SPEC,
      "    partitionBy: [event_date]\n    trigger: 30 seconds",
      "    partitionBy: [event_date]\n    trigger: ${TRIGGER:-30 seconds}",
    );
    expectOnly(text, {
      code: "bad-interpolation",
      at: at(text, "trigger: ${TRIGGER:-30 seconds}", "${"),
      message: "sinks.raw.trigger cannot use ${...}: variables are only resolved in endpoint and path settings",
    });
  });

  it("$$ is a literal dollar in a setting", () => {
    const text = edit(BASE_SPEC, TOPIC, "topic: price$$");
    expect(expectValid(text).source.kafka.topic.value).toBe("price$");
  });
});
