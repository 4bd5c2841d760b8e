/** The hints `start` prints name the pipeline it started, so that they show that one. */
import { describe, expect, it } from "vitest";
import { pipelineArguments } from "../../src/job/session.js";

describe("pipelineArguments", () => {
  it("is empty for the default spec and options", () => {
    expect(pipelineArguments(undefined, {})).toBe("");
    expect(pipelineArguments("conf/pipeline.yaml", {})).toBe("");
  });

  it("repeats another spec and the options, quoted for a shell where needed", () => {
    expect(pipelineArguments("conf/other.yaml", { profile: "local" })).toBe(" conf/other.yaml --profile local");
    expect(pipelineArguments("my spec's.yaml", { target: "docker", livy: "http://livy:8998" })).toBe(
      " 'my spec'\\''s.yaml' --target docker --livy http://livy:8998",
    );
  });
});
