/**
 * The Compose cluster agrees with the rest of the repository: the cluster profile's hosts and ports
 * are services and ports the compose files define, the images run the local stack's versions,
 * InfluxDB is initialised with the organisation and bucket the pipeline writes to, and the docker
 * staging target finds the container and the folder Livy reads.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stagingTarget } from "../../src/job/session.js";
import { DockerStagingTarget } from "../../src/deploy/staging-target.js";
import {
  asMapping,
  environmentOf,
  INFRASTRUCTURE,
  listeningPorts,
  loadComposeProject,
  readEnvFile,
  ROOT,
  withDefaults,
  type Mapping,
} from "./compose-project.js";

const project = loadComposeProject();
const service = (name: string): Mapping => project.services.find((s) => s.name === name)!.def;
const clusterProfile = asMapping(parse(readFileSync(path.join(ROOT, "conf/profiles/cluster.yaml"), "utf8")));
const stackScript = readFileSync(path.join(INFRASTRUCTURE, "local/stack.sh"), "utf8");
const livyDockerfile = readFileSync(path.join(INFRASTRUCTURE, "spark/livy/Dockerfile"), "utf8");

function stackVersion(name: string): string {
  const match = new RegExp(`^${name}=(\\S+)`, "m").exec(stackScript);
  if (match === null) throw new Error(`infrastructure/local/stack.sh sets no ${name}`);
  return match[1]!;
}

function dockerArg(name: string): string {
  const match = new RegExp(`^ARG ${name}=(\\S+)`, "m").exec(livyDockerfile);
  if (match === null) throw new Error(`the Livy Dockerfile has no ARG ${name} with a default`);
  return match[1]!;
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** Every host:port the cluster profile names (URLs and Kafka's bootstrap list), defaults applied. */
function profileEndpoints(): Set<string> {
  const endpoints = new Set<string>();
  for (const value of strings(clusterProfile).map(withDefaults)) {
    for (const m of value.matchAll(/^[a-z]+:\/\/([^/:]+):(\d+)/g)) endpoints.add(`${m[1]}:${m[2]}`);
    for (const part of value.split(",")) if (/^[a-z][a-z0-9-]*:\d+$/.test(part.trim())) endpoints.add(part.trim());
  }
  return endpoints;
}

describe("the cluster profile and the compose files", () => {
  it("name hosts and ports the compose files define", () => {
    const endpoints = profileEndpoints();
    expect([...endpoints].sort()).toEqual(["influxdb:8086", "kafka:9092", "namenode:9000"]);
    for (const endpoint of endpoints) {
      const [host, port] = endpoint.split(":") as [string, string];
      const match = project.services.find((s) => s.name === host || s.def.hostname === host);
      expect(match, `no service is named ${host}`).toBeDefined();
      expect([...listeningPorts(match!.def)], `${host} does not listen on ${port}`).toContain(port);
    }
  });

  it("agree with what the services announce: HDFS's default file system, Kafka's advertised listener", () => {
    expect(readEnvFile(path.join(INFRASTRUCTURE, "hadoop/config")).get("CORE-SITE.XML_fs.defaultFS")).toBe("hdfs://namenode:9000");
    expect(environmentOf(service("kafka")).get("KAFKA_ADVERTISED_LISTENERS")).toBe("PLAINTEXT://kafka:9092");
    // The topic the health check creates is the spec's default topic.
    const spec = readFileSync(path.join(ROOT, "conf/pipeline.yaml"), "utf8");
    const specTopic = /topic: (\$\{KAFKA_TOPIC:-[^}]+\})/.exec(spec)![1]!;
    expect(environmentOf(service("kafka")).get("SENSOR_STREAMING_TOPIC")).toBe(specTopic);
    expect(environmentOf(service("proxy")).get("KAFKA_TOPIC")).toBe(specTopic);
  });

  it("initialise InfluxDB 2 with the organisation and bucket the pipeline writes to, and give Livy the token", () => {
    const influx = asMapping(asMapping(clusterProfile.sinks).influxdb);
    expect(influx.version).toBe(2);
    const init = environmentOf(service("influxdb"));
    expect(init.get("DOCKER_INFLUXDB_INIT_MODE")).toBe("setup");
    expect(init.get("DOCKER_INFLUXDB_INIT_ORG")).toBe(influx.org);
    expect(init.get("DOCKER_INFLUXDB_INIT_BUCKET")).toBe(influx.bucket);
    // The token the runner writes with is the one InfluxDB was initialised with.
    const tokenVariable = init.get("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN")!.replace(/^\$\{([A-Z_]+).*$/, "$1");
    expect(environmentOf(service("livy")).get(influx.tokenEnv as string)).toMatch(new RegExp(`^\\$\\{${tokenVariable}[:}]`));
    const datasource = (
      parse(readFileSync(path.join(INFRASTRUCTURE, "grafana/provisioning/datasources/influxdb.yaml"), "utf8")) as {
        datasources: Array<{ url: string; jsonData: Mapping }>;
      }
    ).datasources[0]!;
    expect(datasource.jsonData.organization).toBe(influx.org);
    expect(datasource.jsonData.defaultBucket).toBe(influx.bucket);
    expect(datasource.url).toBe(withDefaults(influx.url as string));
  });
});

describe("the images", () => {
  it("run the local stack's Spark and Scala versions in the Livy image and on the master and worker", () => {
    const spark = stackVersion("SPARK_VERSION");
    const scala = stackVersion("SPARK_SCALA");
    expect(dockerArg("SPARK_VERSION")).toBe(spark);
    expect(dockerArg("SPARK_SCALA")).toBe(scala);
    expect(dockerArg("SPARK_IMAGE")).toBe("apache/spark:${SPARK_VERSION}-scala${SPARK_SCALA}-java17-python3-ubuntu");
    expect(livyDockerfile).toMatch(/^FROM \$\{SPARK_IMAGE\} AS spark$/m);
    for (const name of ["spark-master", "spark-worker"]) expect(service(name).image, name).toBe(`apache/spark:${spark}-scala${scala}-java17-python3-ubuntu`);
  });

  it("install Livy 0.9.0 for that Scala version, verified against its published checksum", () => {
    expect(dockerArg("LIVY_VERSION")).toBe("0.9.0-incubating");
    expect(dockerArg("LIVY_ARCHIVE")).toBe("apache-livy-${LIVY_VERSION}_${SPARK_SCALA}-bin.zip");
    expect(livyDockerfile).toContain('"${LIVY_DIST}/${LIVY_ARCHIVE}.sha512"');
    expect(livyDockerfile).toContain("sha512sum -c -");
    // No checksum is written into the file: it is fetched beside the archive.
    expect(livyDockerfile).not.toMatch(/[0-9a-f]{64}/i);
    const conf = readFileSync(path.join(INFRASTRUCTURE, "spark/livy/livy.conf"), "utf8");
    expect(conf).toMatch(/^livy\.spark\.master = spark:\/\/spark-master:7077$/m);
    expect(conf).toMatch(new RegExp(`^livy\\.spark\\.scala-version = ${stackVersion("SPARK_SCALA").replace(".", "\\.")}$`, "m"));
  });

  it("fetch the Kafka connector of that Spark version by its Maven coordinates", () => {
    expect(livyDockerfile).toContain('"org.apache.spark:spark-sql-kafka-0-10_${SPARK_SCALA}:${SPARK_VERSION}"');
    expect(livyDockerfile).toContain('"org.apache.spark:spark-token-provider-kafka-0-10_${SPARK_SCALA}:${SPARK_VERSION}"');
    expect(livyDockerfile).toMatch(/maven-dependency-plugin:[\d.]+:copy/);
  });

  it("run the local stack's Kafka version and a Hadoop of the same minor version as Spark's client", () => {
    expect(service("kafka").image).toBe(`apache/kafka:${stackVersion("KAFKA_VERSION")}`);
    const [major, minor] = stackVersion("HADOOP_VERSION").split(".");
    for (const name of ["namenode", "datanode"]) expect(service(name).image, name).toMatch(new RegExp(`^apache/hadoop:${major}\\.${minor}\\.\\d+$`));
  });
});

describe("the docker staging target and the Spark containers", () => {
  const names = ["SPARK_MASTER_CONTAINER", "SENSOR_STREAMING_STAGING", "SENSOR_STREAMING_CONTAINER_STAGING"] as const;
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("copy into the container named spark-master, into the folder Livy is allowed to read", () => {
    for (const name of names) delete process.env[name];
    const target = stagingTarget({ target: "docker" }) as DockerStagingTarget;
    // ${SPARK_MASTER_CONTAINER:-spark-master}: the CLI's default is the file's default.
    expect(withDefaults(String(service("spark-master").container_name))).toBe(target.container);
    expect(service("spark-master").container_name).toBe("${SPARK_MASTER_CONTAINER:-spark-master}");
    const mounts = (name: string): string[] =>
      ((service(name).volumes as string[] | undefined) ?? []).filter((v) => v.split(":")[1] === target.root).map((v) => v.split(":")[0]!);
    // The same named volume in both: what is copied into spark-master is what Livy's driver reads.
    expect(mounts("spark-master")).toEqual(["spark-staging"]);
    expect(mounts("livy")).toEqual(["spark-staging"]);
    const whitelist = /^livy\.file\.local-dir-whitelist = (.+)$/m.exec(readFileSync(path.join(INFRASTRUCTURE, "spark/livy/livy.conf"), "utf8"))![1]!.split(",");
    expect(whitelist).toContain(`${target.root}/`);
  });

  it("take the container's folder from SENSOR_STREAMING_CONTAINER_STAGING, never the local stack's SENSOR_STREAMING_STAGING", () => {
    process.env.SENSOR_STREAMING_STAGING = "/home/operator/sensor-streaming/.local-stack/staging";
    delete process.env.SENSOR_STREAMING_CONTAINER_STAGING;
    expect((stagingTarget({ target: "docker" }) as DockerStagingTarget).root).toBe("/opt/sensor-streaming/staging");
    process.env.SENSOR_STREAMING_CONTAINER_STAGING = "/srv/staging";
    expect((stagingTarget({ target: "docker" }) as DockerStagingTarget).root).toBe("/srv/staging");
  });
});
