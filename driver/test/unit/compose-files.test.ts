/**
 * The Docker Compose cluster's files, checked statically (no Docker engine runs here): they parse,
 * every service is health-checked and waits for what it needs to be healthy, only Grafana and the
 * ingestion proxy are reachable from other machines, and no secret is written in them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  asMapping,
  dependenciesOf,
  environmentOf,
  generatedSecrets,
  INFRASTRUCTURE,
  loadComposeProject,
  publishedPorts,
  ROOT,
  withDefaults,
} from "./compose-project.js";

const project = loadComposeProject();
const serviceNames = new Set(project.services.map((s) => s.name));
/** Operators reach these from other machines; everything else has no authentication of its own, or is not for them. */
const PUBLIC_SERVICES = new Set(["grafana", "proxy"]);
const SECRET_KEY = /PASSWORD|TOKEN|SECRET/i;
/** A value taken from the environment, with no fallback (a fallback would be a committed secret). */
const FROM_ENVIRONMENT = /^\$\{[A-Z_][A-Z0-9_]*(:\?[^}]*)?\}$/;

describe("the compose files", () => {
  it("join one file per component through include:", () => {
    expect(project.files.map((f) => f.file).sort()).toEqual(
      [
        "infrastructure/docker-compose.yml",
        "infrastructure/grafana/compose.yaml",
        "infrastructure/hadoop/compose.yaml",
        "infrastructure/influxdb/compose.yaml",
        "infrastructure/ingestion/kafka/compose.yaml",
        "infrastructure/ingestion/server-proxy/compose.yaml",
        "infrastructure/spark/compose.yaml",
      ].sort(),
    );
    for (const f of project.files.filter((f) => f.file !== "infrastructure/docker-compose.yml")) {
      expect(readFileSync(path.join(ROOT, path.dirname(f.file), "README.md"), "utf8"), `${f.file} has a README beside it`).toMatch(/^# /);
    }
  });

  it("define the services of the cluster, each name once", () => {
    expect(project.services.map((s) => s.name).sort()).toEqual([
      "datanode",
      "grafana",
      "influxdb",
      "kafka",
      "livy",
      "namenode",
      "proxy",
      "spark-master",
      "spark-worker",
    ]);
    expect(serviceNames.size).toBe(project.services.length);
  });

  it.each(project.services.map((s) => [s.name, s] as const))("%s has a health check", (_name, service) => {
    const healthcheck = asMapping(service.def.healthcheck);
    expect(healthcheck.disable).not.toBe(true);
    expect(Array.isArray(healthcheck.test) || typeof healthcheck.test === "string").toBe(true);
    expect((healthcheck.test as string[]).length).toBeGreaterThan(0);
    expect(["CMD", "CMD-SHELL"]).toContain(Array.isArray(healthcheck.test) ? healthcheck.test[0] : "CMD-SHELL");
  });

  it("wait only for services that exist, until they are healthy", () => {
    const problems: string[] = [];
    for (const service of project.services) {
      for (const [dependency, condition] of dependenciesOf(service.def)) {
        if (!serviceNames.has(dependency)) problems.push(`${service.name} (${service.file}) depends on ${dependency}, which no compose file defines`);
        if (condition !== "service_healthy")
          problems.push(`${service.name} depends on ${dependency} with condition ${condition ?? "(none)"}, not service_healthy`);
      }
    }
    expect(problems).toEqual([]);
    // The dependencies that make "healthy" mean "ready for a job".
    const livy = project.services.find((s) => s.name === "livy")!;
    expect(
      dependenciesOf(livy.def)
        .map(([d]) => d)
        .sort(),
    ).toEqual(["datanode", "influxdb", "kafka", "spark-master", "spark-worker"]);
  });

  it("form a graph without cycles", () => {
    const deps = new Map(project.services.map((s) => [s.name, dependenciesOf(s.def).map(([d]) => d)]));
    const done = new Set<string>();
    const visit = (name: string, trail: readonly string[]): void => {
      expect(trail, `cycle: ${[...trail, name].join(" -> ")}`).not.toContain(name);
      if (done.has(name)) return;
      for (const d of deps.get(name) ?? []) visit(d, [...trail, name]);
      done.add(name);
    };
    for (const name of deps.keys()) visit(name, []);
  });

  it("publish only Grafana and the proxy beyond this machine", () => {
    const open: string[] = [];
    for (const service of project.services) {
      for (const port of publishedPorts(service.def)) {
        if (port.hostIp !== "127.0.0.1" && !PUBLIC_SERVICES.has(service.name))
          open.push(`${service.name} publishes ${port.published}:${port.target} on ${port.hostIp ?? "every interface"}`);
      }
    }
    expect(open).toEqual([]);
    for (const name of PUBLIC_SERVICES) expect(publishedPorts(project.services.find((s) => s.name === name)!.def).length, name).toBeGreaterThan(0);
    // Spark's RPC port runs jobs for whoever reaches it: not published at all.
    expect(publishedPorts(project.services.find((s) => s.name === "spark-master")!.def).map((p) => p.target)).not.toContain("7077");
  });

  it("take every password and token from the environment, with no fallback value", () => {
    const literal: string[] = [];
    for (const service of project.services) {
      for (const [key, value] of environmentOf(service.def)) {
        if (SECRET_KEY.test(key) && !FROM_ENVIRONMENT.test(value)) literal.push(`${service.name}: ${key}=${value}`);
      }
    }
    expect(literal).toEqual([]);
    const secretKeys = project.services.flatMap((s) => [...environmentOf(s.def).keys()].filter((k) => SECRET_KEY.test(k)));
    expect(secretKeys).toEqual(
      expect.arrayContaining([
        "DOCKER_INFLUXDB_INIT_PASSWORD",
        "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN",
        "GF_SECURITY_ADMIN_PASSWORD",
        "INFLUXDB_TOKEN",
        "PROXY_TOKENS",
      ]),
    );
  });

  it("require exactly the secrets start-all.sh generates", () => {
    const generated = new Set(generatedSecrets());
    expect(generated.size).toBeGreaterThan(0);
    const required = new Set(
      project.services.flatMap((s) =>
        [...environmentOf(s.def).entries()].filter(([k]) => SECRET_KEY.test(k)).map(([, v]) => /^\$\{([A-Z_][A-Z0-9_]*)/.exec(v)![1]!),
      ),
    );
    expect([...required].sort()).toEqual([...generated].sort());
    // stop-all.sh needs the same names to parse the files.
    const stop = readFileSync(path.join(INFRASTRUCTURE, "stop-all.sh"), "utf8");
    for (const name of generated) expect(stop).toContain(name);
    // Written into infrastructure/.env, the file Compose reads for the project by itself.
    const gitignore = readFileSync(path.join(ROOT, ".gitignore"), "utf8").split("\n");
    expect(gitignore).toContain("infrastructure/.env");
  });

  it("keep Grafana's data source token out of its provisioning file", () => {
    const file = parse(readFileSync(path.join(INFRASTRUCTURE, "grafana/provisioning/datasources/influxdb.yaml"), "utf8")) as {
      datasources: Array<{ secureJsonData?: Record<string, string> }>;
    };
    for (const source of file.datasources) {
      for (const [key, value] of Object.entries(source.secureJsonData ?? {})) expect(value, key).toMatch(/^\$(\{[A-Z_][A-Z0-9_]*\}|[A-Z_][A-Z0-9_]*)$/);
    }
    const grafana = project.services.find((s) => s.name === "grafana")!;
    expect(environmentOf(grafana.def).get("INFLUXDB_TOKEN")).toMatch(FROM_ENVIRONMENT);
  });

  it("put every service on the one network, and declare every named volume", () => {
    for (const f of project.files.filter((f) => f.file !== "infrastructure/docker-compose.yml")) {
      // Declared identically in every file: Compose's include merges identical resources.
      expect(f.doc.networks, f.file).toEqual({ "sensor-streaming": { name: "sensor-streaming" } });
      const declared = new Set(Object.keys(asMapping(f.doc.volumes)));
      for (const [name, def] of Object.entries(asMapping(f.doc.services))) {
        expect(asMapping(def).networks, name).toEqual(["sensor-streaming"]);
        for (const volume of (asMapping(def).volumes as string[] | undefined) ?? []) {
          const source = withDefaults(volume).split(":")[0]!;
          if (!source.startsWith(".") && !source.startsWith("/")) expect(declared.has(source), `${name} mounts undeclared volume ${source}`).toBe(true);
        }
      }
    }
  });
});

describe("withDefaults", () => {
  it("applies fallbacks and keeps required variables", () => {
    expect(withDefaults("${GRAFANA_PORT:-3000}:3000")).toBe("3000:3000");
    expect(withDefaults("${A-x}${B:?set B}${C}$$D")).toBe("x${B}${C}$D");
  });
});
