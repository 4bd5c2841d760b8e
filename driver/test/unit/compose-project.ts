/**
 * The Docker Compose cluster (infrastructure/docker-compose.yml) read as plain YAML, for the
 * compose-*.test.ts consistency tests. This is not Compose's loader: it follows `include:` and
 * reads the keys these tests check, nothing more. Schema validation with compose-go is a separate
 * check (issue 11).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

export const ROOT = path.resolve(import.meta.dirname, "../../..");
export const INFRASTRUCTURE = path.join(ROOT, "infrastructure");
export const TOP_LEVEL_COMPOSE = path.join(INFRASTRUCTURE, "docker-compose.yml");

export type Mapping = Record<string, unknown>;

export interface ComposeFile {
  /** Relative to the repository root. */
  readonly file: string;
  readonly doc: Mapping;
}

export interface Service {
  readonly name: string;
  /** The compose file that defines it, relative to the repository root. */
  readonly file: string;
  readonly def: Mapping;
}

export interface ComposeProject {
  readonly files: readonly ComposeFile[];
  readonly services: readonly Service[];
}

export function asMapping(value: unknown): Mapping {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Mapping) : {};
}

/** The top-level file and every file it includes (recursively), each once. */
export function loadComposeProject(top: string = TOP_LEVEL_COMPOSE): ComposeProject {
  const files: ComposeFile[] = [];
  const visit = (file: string): void => {
    const relative = path.relative(ROOT, file);
    if (files.some((f) => f.file === relative)) return;
    const doc = asMapping(parse(readFileSync(file, "utf8")));
    files.push({ file: relative, doc });
    for (const entry of (doc.include as unknown[] | undefined) ?? []) {
      const first = typeof entry === "string" ? entry : (asMapping(entry).path as string | string[]);
      visit(path.resolve(path.dirname(file), Array.isArray(first) ? first[0]! : first));
    }
  };
  visit(top);
  const services = files.flatMap((f) => Object.entries(asMapping(f.doc.services)).map(([name, def]) => ({ name, file: f.file, def: asMapping(def) })));
  return { files, services };
}

/**
 * A value as Compose would see it with no variable set: `${VAR:-default}` is its default, `$$` a
 * dollar; `${VAR}` and `${VAR:?message}` stay as `${VAR}` (they are required from the environment).
 */
export function withDefaults(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*)|:?\?[^}]*)?\}/g, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$$") return "$";
    return fallback ?? `\${${name}}`;
  });
}

export interface PublishedPort {
  /** undefined: all interfaces. */
  readonly hostIp: string | undefined;
  readonly published: string;
  readonly target: string;
}

/** The `ports:` of a service, short or long syntax, defaults applied. */
export function publishedPorts(def: Mapping): PublishedPort[] {
  return ((def.ports as unknown[] | undefined) ?? []).map((entry) => {
    if (typeof entry === "string" || typeof entry === "number") {
      const parts = withDefaults(String(entry))
        .replace(/\/(tcp|udp)$/, "")
        .split(":");
      if (parts.length === 3) return { hostIp: parts[0], published: parts[1]!, target: parts[2]! };
      if (parts.length === 2) return { hostIp: undefined, published: parts[0]!, target: parts[1]! };
      return { hostIp: undefined, published: "", target: parts[0]! };
    }
    const long = asMapping(entry);
    return {
      hostIp: long.host_ip === undefined ? undefined : String(long.host_ip),
      published: withDefaults(String(long.published ?? "")),
      target: String(long.target),
    };
  });
}

/** The ports a service listens on inside the network: `expose:` and the targets of `ports:`. */
export function listeningPorts(def: Mapping): Set<string> {
  return new Set([...((def.expose as unknown[] | undefined) ?? []).map(String), ...publishedPorts(def).map((p) => p.target)]);
}

/** `environment:` as a map, from either of its two syntaxes. */
export function environmentOf(def: Mapping): Map<string, string> {
  const env = def.environment;
  if (Array.isArray(env)) {
    return new Map(
      env.map(String).map((line) => {
        const eq = line.indexOf("=");
        return eq < 0 ? [line, ""] : [line.slice(0, eq), line.slice(eq + 1)];
      }),
    );
  }
  return new Map(Object.entries(asMapping(env)).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** `depends_on:` as a list of [service, condition]; the short list syntax has no condition. */
export function dependenciesOf(def: Mapping): Array<[string, string | undefined]> {
  const deps = def.depends_on;
  if (Array.isArray(deps)) return deps.map((d) => [String(d), undefined]);
  return Object.entries(asMapping(deps)).map(([name, spec]) => [name, asMapping(spec).condition as string | undefined]);
}

/** The names of the secrets infrastructure/start-all.sh generates: its `secret_names=(...)`. */
export function generatedSecrets(): string[] {
  const script = readFileSync(path.join(INFRASTRUCTURE, "start-all.sh"), "utf8");
  const list = /^secret_names=\(([^)]*)\)$/m.exec(script);
  if (list === null) throw new Error("infrastructure/start-all.sh has no secret_names=(...) line");
  return list[1]!.trim().split(/\s+/);
}

/** Lines `KEY=value` of an env file (comments and blank lines skipped). */
export function readEnvFile(file: string): Map<string, string> {
  return new Map(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}
