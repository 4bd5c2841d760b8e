/** validate, compile and explain. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compiledFiles } from "../emit/compiled-files.js";
import { explainPlan } from "../emit/explain.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { formatDiagnostics, load, loadPlan, type SpecOptions } from "./pipeline-input.js";

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export function validateCommand(specFile: string | undefined, options: SpecOptions & { json?: boolean }, io: Output): number {
  const loaded = load(specFile, options);
  if (options.json === true) {
    io.out(JSON.stringify({ valid: loaded.spec !== undefined, diagnostics: loaded.diagnostics }, null, 2));
    return loaded.spec === undefined ? EXIT.invalidSpec : EXIT.ok;
  }
  if (loaded.spec === undefined) {
    io.err(formatDiagnostics(loaded).replace("nothing was compiled", "the spec is not valid"));
    return EXIT.invalidSpec;
  }
  const { plan } = loadPlan(specFile, options);
  const profile = loaded.profileFile === undefined ? "" : ` with ${loaded.profileFile}`;
  io.out(`${loaded.specFile}${profile} is valid: pipeline "${plan.pipeline}", ${plan.views.length} views, ${plan.sinks.length} sinks`);
  return EXIT.ok;
}

export const DEFAULT_OUT = "sql";

/** Generated files are recognised by name, so a renamed view does not leave a stale file. */
function isGenerated(name: string): boolean {
  return name === "plan.json" || /^\d\d-[a-z0-9-]+\.sql$/.test(name);
}

export function compileCommand(
  specFile: string | undefined,
  options: SpecOptions & { out?: string; check?: boolean },
  io: Output,
): number {
  const { plan } = loadPlan(specFile, options);
  const dir = path.join(options.out ?? DEFAULT_OUT, plan.pipeline);
  const files = compiledFiles(plan);
  const existing = existsSync(dir) ? readdirSync(dir).filter(isGenerated) : [];

  if (options.check === true) {
    const wanted = new Map(files.map((f) => [f.name, f.content]));
    const stale = [
      ...files.filter((f) => !existing.includes(f.name) || readFileSync(path.join(dir, f.name), "utf8") !== f.content).map((f) => f.name),
      ...existing.filter((name) => !wanted.has(name)),
    ];
    if (stale.length === 0) {
      io.out(`${dir}/ is up to date with ${plan.specFile}`);
      return EXIT.ok;
    }
    throw new ExitError(
      EXIT.stale,
      `${dir}/ is stale: ${stale.join(", ")} differ from what ${plan.specFile} compiles to`,
      `run: sensor-streaming compile ${plan.specFile}${options.out === undefined ? "" : ` --out ${options.out}`}`,
    );
  }

  try {
    mkdirSync(dir, { recursive: true });
    for (const name of existing) if (!files.some((f) => f.name === name)) rmSync(path.join(dir, name));
    for (const file of files) writeFileSync(path.join(dir, file.name), file.content);
  } catch (error) {
    throw new ExitError(EXIT.fileError, `cannot write ${dir}/: ${(error as Error).message}`, "check the --out folder and its permissions");
  }
  io.out(`compiled ${plan.specFile} -> ${dir}/ (${files.length} files)`);
  for (const file of files) io.out(`  ${file.name}`);
  return EXIT.ok;
}

export function explainCommand(specFile: string | undefined, options: SpecOptions, io: Output): number {
  const { plan, loaded } = loadPlan(specFile, options);
  io.out(explainPlan(plan, process.env, loaded.profileFile).trimEnd());
  return EXIT.ok;
}
