/**
 * Binds a compiled plan for one deployment: resolves every `${VAR}` template against the
 * environment and turns relative or absolute local paths into `file:` locations, so the Spark
 * driver finds them whatever its working directory. The token is never bound: the plan only names
 * its variable, and the runner reads it from its own environment.
 */
import path from "node:path";
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

/** Keys whose values are file system locations (refusedPath: an InfluxDB sink's dead letters). */
const PATH_KEYS = new Set(["path", "checkpoint", "refusedPath"]);

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * A local path as Spark opens it: `file://` and the absolute path as it is, not percent-encoded.
 * Spark hands these strings to Hadoop's `new Path(String)`, which does not decode: it builds its
 * URI with java.net.URI's multi-argument constructor, which quotes every `%`
 * (https://github.com/apache/hadoop/blob/rel/release-3.3.4/hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/fs/Path.java,
 * https://docs.oracle.com/javase/8/docs/api/java/net/URI.html "always quoted"). So
 * `file:///data%20dir` is a folder named `data%20dir`, and `file:///data dir` the folder
 * `data dir` (checked with Hadoop 3.3.4's RawLocalFileSystem).
 */
export function toLocation(value: string, baseDir: string): string {
  if (SCHEME.test(value)) return value;
  return `file://${path.resolve(baseDir, value)}`;
}

/**
 * The local folder a bound location names, read as Hadoop reads it: `file:` then an optional
 * empty or localhost authority, then the path as it is. Undefined for other schemes.
 */
export function localPathOf(location: string): string | undefined {
  if (!SCHEME.test(location)) return path.resolve(location);
  const file = /^file:(?:\/\/(?:localhost)?(?=\/)|(?!\/\/))(\/.*)$/i.exec(location);
  return file === null ? undefined : file[1];
}

/**
 * A plan.json object bound for this deployment: a new object of the same shape, templates resolved
 * and locations made absolute. It binds by key, whatever the type says: the bench binds plans it
 * reshaped (no-op sinks) with it too.
 */
export function bindPlan<Plan extends object>(plan: Plan, env: Environment, baseDir: string): Plan {
  const unset = new Set<string>();
  const bind = (value: unknown, key: string | undefined): unknown => {
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
  const bound = bind(plan, undefined) as Plan;
  if (unset.size > 0) {
    const names = [...unset].sort();
    throw new BindError(
      `the plan needs ${names.join(", ")}, which ${names.length === 1 ? "is" : "are"} not set and ha${names.length === 1 ? "s" : "ve"} no default`,
      names,
    );
  }
  return bound;
}
