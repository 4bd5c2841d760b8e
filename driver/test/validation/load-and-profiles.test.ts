/**
 * loadSpec with real files: file names in diagnostics, profiles overlaid on the spec (and
 * their problems reported with the profile's name and line), and the shipped profiles.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renderDiagnostic } from "../../src/spec/diagnostics.js";
import { loadSpec, SpecFileError } from "../../src/spec/load.js";
import { at, BASE_SPEC, edit, expectDiagnostics, REPO_ROOT } from "./spec-fixture.js";

let dir = "";

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "spec-validation-"));
  mkdirSync(path.join(dir, "profiles"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(relative: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  writeFileSync(path.join(dir, relative), text);
}

describe("the shipped profiles", () => {
  it.each(["local", "cluster"])("conf/pipeline.yaml is valid with --profile %s and no environment", (profile) => {
    const loaded = loadSpec("conf/pipeline.yaml", { profile, env: {}, cwd: REPO_ROOT });
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.spec).toBeDefined();
    expect(loaded.specFile).toBe("conf/pipeline.yaml");
    expect(loaded.profileFile).toBe(`conf/profiles/${profile}.yaml`);
  });

  it("cluster: InfluxDB 2 from the profile, with positions in the profile; the rest from the spec", () => {
    const loaded = loadSpec("conf/pipeline.yaml", { profile: "cluster", env: {}, cwd: REPO_ROOT });
    const profileText = loaded.sources.get("conf/profiles/cluster.yaml")!;
    const influx = loaded.spec!.sinks.influxdb!;
    expect(influx.version).toEqual({
      value: "2",
      pos: { file: "conf/profiles/cluster.yaml", ...at(profileText, "    version: 2", "2") },
    });
    expect(influx.tokenEnv?.value).toBe("INFLUXDB_TOKEN");
    expect(influx.org?.value).toBe("schools");
    expect(loaded.spec!.source.kafka.bootstrapServers).toEqual({
      template: "${KAFKA_BOOTSTRAP:-kafka:9092}",
      value: "kafka:9092",
      pos: { file: "conf/profiles/cluster.yaml", ...at(profileText, "bootstrapServers: ${", "${") },
    });
    expect(loaded.spec!.source.kafka.topic.pos.file).toBe("conf/pipeline.yaml");
    expect(loaded.spec!.windows.value.map((w) => w.name.value)).toEqual(["5m", "1h"]);
  });

  it("cluster: a set variable wins over the profile's default", () => {
    const loaded = loadSpec("conf/pipeline.yaml", { profile: "cluster", env: { KAFKA_BOOTSTRAP: "k1:9092,k2:9092" }, cwd: REPO_ROOT });
    expect(loaded.spec!.source.kafka.bootstrapServers.value).toBe("k1:9092,k2:9092");
  });
});

describe("profiles in temporary files", () => {
  it("a bad value in the profile is reported with the profile's file name and line", () => {
    write("pipeline.yaml", BASE_SPEC);
    const profile = "# test profile\nsource:\n  kafka:\n    maxOffsetsPerTrigger: lots\n";
    write("profiles/bad.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "bad", env: {}, cwd: dir });
    expect(loaded.spec).toBeUndefined();
    expect(loaded.profileFile).toBe("profiles/bad.yaml");
    expectDiagnostics(loaded.diagnostics, [
      {
        code: "wrong-type",
        file: "profiles/bad.yaml",
        at: at(profile, "maxOffsetsPerTrigger: lots", "lots"),
        message: 'source.kafka.maxOffsetsPerTrigger must be a whole number, found string "lots"',
      },
    ]);
    expect(at(profile, "lots").line).toBe(4);
  });

  it("a profile given as a path is shown by that path", () => {
    write("pipeline.yaml", BASE_SPEC);
    const profile = "source:\n  watermrak: 1 minute\n";
    write("profiles/typo.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "profiles/typo.yaml", env: {}, cwd: dir });
    expectDiagnostics(loaded.diagnostics, [
      {
        code: "unknown-key",
        file: "profiles/typo.yaml",
        at: at(profile, "  watermrak:", "watermrak"),
        hint: ['did you mean "watermark"?'],
      },
    ]);
  });

  it("problems in both files: each with its own file, the spec's first", () => {
    const spec = edit(BASE_SPEC, "    slide: 1 minute", "    slide: 10 minutes");
    write("pipeline.yaml", spec);
    const profile = "registry:\n  format: xml\n";
    write("profiles/p.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "p", env: {}, cwd: dir });
    expectDiagnostics(loaded.diagnostics, [
      { code: "bad-window", file: "pipeline.yaml", at: at(spec, "slide: 10 minutes", "10 minutes") },
      {
        code: "bad-value",
        file: "profiles/p.yaml",
        at: at(profile, "format: xml", "xml"),
        message: 'registry.format "xml" is not allowed',
        hint: "allowed: csv, json, parquet",
      },
    ]);
  });

  it("a profile overrides a bad value of the spec before it is checked", () => {
    write("pipeline.yaml", edit(BASE_SPEC, "maxOffsetsPerTrigger: 50000", "maxOffsetsPerTrigger: lots"));
    write("profiles/fix.yaml", "source:\n  kafka:\n    maxOffsetsPerTrigger: 100\n");
    const loaded = loadSpec("pipeline.yaml", { profile: "fix", env: {}, cwd: dir });
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.spec!.source.kafka.maxOffsetsPerTrigger?.value).toBe(100);
  });

  it("a profile replaces lists whole", () => {
    write("pipeline.yaml", BASE_SPEC);
    write("profiles/tags.yaml", "sinks:\n  influxdb:\n    raw:\n      tags: [device_id]\n");
    const loaded = loadSpec("pipeline.yaml", { profile: "tags", env: {}, cwd: dir });
    expect(loaded.spec!.sinks.influxdb!.raw.tags.value.map((t) => t.value)).toEqual(["device_id"]);
  });

  it("an unset variable introduced by a profile points at the profile; setting it makes the spec valid", () => {
    write("pipeline.yaml", BASE_SPEC);
    const profile = "registry:\n  path: ${REGISTRY_URL}\n";
    write("profiles/env.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "env", env: {}, cwd: dir });
    expectDiagnostics(loaded.diagnostics, [
      {
        code: "unset-variable",
        file: "profiles/env.yaml",
        at: at(profile, "path: ${REGISTRY_URL}", "${"),
        message: "registry.path uses ${REGISTRY_URL}, which is not set and has no default",
      },
    ]);
    const withEnv = loadSpec("pipeline.yaml", { profile: "env", env: { REGISTRY_URL: "hdfs://nn/r.csv" }, cwd: dir });
    expect(withEnv.diagnostics).toEqual([]);
    expect(withEnv.spec!.registry.path.value).toBe("hdfs://nn/r.csv");
  });

  it("a YAML error in the profile is reported in the profile, and nothing is decoded", () => {
    write("pipeline.yaml", BASE_SPEC);
    const profile = "registry:\n  path: a: b\n";
    write("profiles/broken.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "broken", env: {}, cwd: dir });
    expect(loaded.spec).toBeUndefined();
    expect(loaded.diagnostics.map((d) => [d.code, d.pos.file, d.pos.line])).toEqual([["yaml-syntax", "profiles/broken.yaml", 2]]);
  });

  it("a missing profile throws a SpecFileError naming it and the profiles folder", () => {
    write("pipeline.yaml", BASE_SPEC);
    let error: unknown;
    try {
      loadSpec("pipeline.yaml", { profile: "staging", env: {}, cwd: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecFileError);
    expect((error as SpecFileError).message).toBe('profile "staging" not found: profiles/staging.yaml nor conf/profiles/staging.yaml do not exist');
    expect((error as SpecFileError).hint).toContain("profiles/ or conf/profiles/");
  });

  it("a profile name not beside the spec is taken from the project's conf/profiles/", () => {
    write("elsewhere/pipeline.yaml", BASE_SPEC);
    write("conf/profiles/shared.yaml", "registry:\n  path: from/conf/profiles.csv\n");
    const loaded = loadSpec("elsewhere/pipeline.yaml", { profile: "shared", env: {}, cwd: dir });
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.profileFile).toBe("conf/profiles/shared.yaml");
    expect(loaded.spec!.registry.path.value).toBe("from/conf/profiles.csv");
    write("elsewhere/profiles/shared.yaml", "registry:\n  path: beside/the/spec.csv\n");
    expect(loadSpec("elsewhere/pipeline.yaml", { profile: "shared", env: {}, cwd: dir }).spec!.registry.path.value, "the spec's own folder first").toBe(
      "beside/the/spec.csv",
    );
  });
});

describe("loadSpec on single files", () => {
  it("a missing spec file throws a SpecFileError", () => {
    expect(() => loadSpec("nope.yaml", { env: {}, cwd: dir })).toThrow(SpecFileError);
  });

  it("an empty spec file", () => {
    write("empty.yaml", "# nothing yet\n");
    const loaded = loadSpec("empty.yaml", { env: {}, cwd: dir });
    expect(loaded.diagnostics).toEqual([
      { code: "missing-key", pos: { file: "empty.yaml", line: 1, col: 1 }, message: "the spec is empty", hint: "start from conf/pipeline.yaml" },
    ]);
  });

  it("a YAML syntax error is reported with the spec's name and position", () => {
    const spec = edit(BASE_SPEC, "  key: DevEui\n", "  key: DevEui: x\n");
    write("pipeline.yaml", spec);
    const loaded = loadSpec("pipeline.yaml", { env: {}, cwd: dir });
    expectDiagnostics(loaded.diagnostics, [{ code: "yaml-syntax", file: "pipeline.yaml", at: at(spec, "  key: DevEui: x", "DevEui"), message: ["YAML: "] }]);
  });

  it("a spec outside cwd is shown by its absolute path", () => {
    write("pipeline.yaml", edit(BASE_SPEC, "maxOffsetsPerTrigger: 50000", "maxOffsetsPerTrigger: lots"));
    const absolute = path.join(dir, "pipeline.yaml");
    const loaded = loadSpec(absolute, { env: {}, cwd: REPO_ROOT });
    expect(loaded.specFile).toBe(absolute.split(path.sep).join("/"));
    expect(loaded.diagnostics[0]!.pos.file).toBe(loaded.specFile);
  });

  it("rendered diagnostics put the caret under the offending text of the right file", () => {
    const spec = edit(BASE_SPEC, "slide: 15 minutes", "slide: 5 minuts");
    write("pipeline.yaml", spec);
    const profile = "source:\n  kafka:\n    startingOffsets: newest\n";
    write("profiles/p.yaml", profile);
    const loaded = loadSpec("pipeline.yaml", { profile: "p", env: {}, cwd: dir });
    const rendered = loaded.diagnostics.map((d) => renderDiagnostic(d, loaded.sources));
    expect(rendered).toHaveLength(2);
    const pointedAt = (text: string): string => {
      const lines = text.split("\n");
      const source = lines[2]!.slice(lines[2]!.indexOf("| ") + 2);
      const caret = lines[3]!.slice(lines[3]!.indexOf("| ") + 2).indexOf("^");
      return source.slice(caret);
    };
    expect(rendered[0]!.startsWith(`pipeline.yaml:${at(spec, "5 minuts").line}:`)).toBe(true);
    expect(pointedAt(rendered[0]!)).toBe("5 minuts");
    expect(rendered[1]!.startsWith("profiles/p.yaml:3:22: error[bad-value]")).toBe(true);
    expect(pointedAt(rendered[1]!)).toBe("newest");
  });
});
