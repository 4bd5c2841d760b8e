/**
 * Reads a pipeline spec and an optional profile, overlays the profile, and decodes the result.
 * Returns every diagnostic of both files; the spec is only returned when there are none.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { decodeSpec } from "./decode-spec.js";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { Environment } from "./interpolation.js";
import { overlay, parseLocatedYaml, type LocatedNode } from "./located.js";
import type { PipelineSpec } from "./pipeline-schema.js";

export interface LoadOptions {
  /** A profile name (looked up in `<spec dir>/profiles/<name>.yaml`) or a path to a YAML file. */
  readonly profile?: string;
  readonly env: Environment;
  /** Base for the file names shown in diagnostics and generated headers. */
  readonly cwd?: string;
}

export interface LoadedSpec {
  readonly spec: PipelineSpec | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** The text of every file read, by displayed name, for rendering diagnostics. */
  readonly sources: ReadonlyMap<string, string>;
  /** The spec file as displayed (relative to cwd, forward slashes). */
  readonly specFile: string;
  readonly profileFile: string | undefined;
}

export class SpecFileError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "SpecFileError";
  }
}

export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, path.resolve(cwd, file));
  return (relative.startsWith("..") || path.isAbsolute(relative) ? path.resolve(cwd, file) : relative).split(path.sep).join("/");
}

/**
 * Where a profile may be: a path as given, or for a name `<spec dir>/profiles/<name>.yaml`, then
 * the project's `conf/profiles/<name>.yaml` (so a spec kept elsewhere still finds `local`).
 */
export function profileCandidates(specFile: string, profile: string, cwd: string): string[] {
  if (profile.includes("/") || profile.endsWith(".yaml") || profile.endsWith(".yml")) return [path.resolve(cwd, profile)];
  const beside = path.join(path.dirname(specFile), "profiles", `${profile}.yaml`);
  const project = path.resolve(cwd, "conf", "profiles", `${profile}.yaml`);
  return beside === project ? [beside] : [beside, project];
}

function readText(file: string, what: string): string {
  if (!existsSync(file)) {
    throw new SpecFileError(`${what} does not exist`, `check the path, or run from the project root`);
  }
  return readFileSync(file, "utf8");
}

export function loadSpec(specFile: string, options: LoadOptions): LoadedSpec {
  const cwd = options.cwd ?? process.cwd();
  const absoluteSpec = path.resolve(cwd, specFile);
  const shownSpec = displayPath(specFile, cwd);
  const sources = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];

  const specText = readText(absoluteSpec, `spec file ${shownSpec}`);
  sources.set(shownSpec, specText);
  const parsedSpec = parseLocatedYaml(specText, shownSpec);
  diagnostics.push(...parsedSpec.diagnostics);
  let root: LocatedNode | undefined = parsedSpec.root;

  let shownProfile: string | undefined;
  if (options.profile !== undefined) {
    const candidates = profileCandidates(absoluteSpec, options.profile, cwd);
    const absoluteProfile = candidates.find((file) => existsSync(file));
    if (absoluteProfile === undefined) {
      const where = candidates.map((file) => displayPath(file, cwd));
      throw new SpecFileError(
        `profile "${options.profile}" not found: ${where.join(" nor ")} ${where.length === 1 ? "does" : "do"} not exist`,
        `profiles are YAML files in ${candidates.map((file) => `${displayPath(path.dirname(file), cwd)}/`).join(" or ")}; ` +
          "pass a name such as --profile local, or a path",
      );
    }
    shownProfile = displayPath(absoluteProfile, cwd);
    const profileText = readFileSync(absoluteProfile, "utf8");
    sources.set(shownProfile, profileText);
    const parsedProfile = parseLocatedYaml(profileText, shownProfile);
    diagnostics.push(...parsedProfile.diagnostics);
    if (root !== undefined && parsedProfile.root !== undefined) root = overlay(root, parsedProfile.root);
  }

  if (diagnostics.length > 0) return { spec: undefined, diagnostics, sources, specFile: shownSpec, profileFile: shownProfile };
  if (root === undefined) {
    diagnostics.push(diagnostic("missing-key", { file: shownSpec, line: 1, col: 1 }, "the spec is empty", "start from conf/pipeline.yaml"));
    return { spec: undefined, diagnostics, sources, specFile: shownSpec, profileFile: shownProfile };
  }
  const decoded = decodeSpec(root, options.env);
  return { ...decoded, sources, specFile: shownSpec, profileFile: shownProfile };
}
