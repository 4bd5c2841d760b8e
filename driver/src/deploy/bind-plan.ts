/**
 * Binds a compiled plan for one deployment: resolves every `${VAR}` template against the
 * environment and turns relative or absolute local paths into file: URIs, so the Spark driver
 * finds them whatever its working directory. The token is never bound: the plan only names its
 * variable, and the runner reads it from its own environment.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseTemplate, resolveTemplate, type Environment } from "../spec/interpolation.js";

export class BindError extends Error {
  constructor(
    message: string,
    readonly unset: readonly string[],
  ) {
    super(message);
    this.name = "BindError";
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Keys whose values are file system locations. */
const PATH_KEYS = new Set(["path", "checkpoint"]);

function toLocation(value: string, baseDir: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return value;
  return pathToFileURL(path.resolve(baseDir, value)).href;
}

export function bindPlan(planText: string, env: Environment, baseDir: string): string {
  const unset = new Set<string>();
  const bind = (value: Json, key: string | undefined): Json => {
    if (typeof value === "string") {
      const resolved = resolveTemplate(parseTemplate(value), env);
      resolved.unset.forEach((v) => unset.add(v));
      return key !== undefined && PATH_KEYS.has(key) ? toLocation(resolved.value, baseDir) : resolved.value;
    }
    if (Array.isArray(value)) return value.map((item) => bind(item, undefined));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bind(v, k)]));
    }
    return value;
  };
  const bound = bind(JSON.parse(planText) as Json, undefined);
  if (unset.size > 0) {
    const names = [...unset].sort();
    throw new BindError(`the plan needs ${names.join(", ")}, which ${names.length === 1 ? "is" : "are"} not set and ha${names.length === 1 ? "s" : "ve"} no default`, names);
  }
  return `${JSON.stringify(bound, null, 2)}\n`;
}
