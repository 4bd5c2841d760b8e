#!/usr/bin/env node
/**
 * sensor-streaming: compile a sensor pipeline spec into Spark SQL and run it through Livy.
 * One dispatcher; every failure becomes an exit code in the catch at the bottom.
 */
import { Command, CommanderError, Option } from "commander";
import {
  compileCommand,
  DEFAULT_OUT,
  DEFAULT_STAGING,
  explainCommand,
  inspectCommand,
  simulateCommand,
  stageCommand,
  validateCommand,
  type Output,
  type SimulateCliOptions,
} from "./commands.js";
import { asExitError, EXIT, ExitError } from "./exit-codes.js";
import { inspectRefusedCommand } from "./inspect-refused.js";
import { logsCommand } from "./logs-command.js";
import type { JobOptions } from "../job/session.js";
import { startCommand } from "./start-command.js";
import { statusCommand } from "./status-command.js";
import { stopCommand } from "./stop-command.js";
import { DEFAULT_SPEC } from "../job/session.js";
import { DEFAULT_REGISTRY_CSV, registryShowCommand, registryUploadCommand, registryValidateCommand } from "../registry/registry-commands.js";
import { superviseCommand } from "./supervise-command.js";
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_MAX_BODY, DEFAULT_PROXY_PORT, proxyCommand, type ProxyCliOptions } from "../proxy/proxy-command.js";
import { simulateToProxyCommand } from "../simulator/simulate-to-proxy-command.js";

const io: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const profileOption = new Option(
  "-p, --profile <name>",
  "overlay profiles/<name>.yaml beside the spec, else conf/profiles/<name>.yaml (or a YAML file path) on the spec: endpoints and paths per environment",
);

// Output piped into a reader that stops early (`| head`) is not an error of this command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const specArgument = `spec file (default: ${DEFAULT_SPEC})`;

export function buildProgram(): Command {
  const program = new Command("sensor-streaming")
    .description(
      "Compile a declarative sensor pipeline (YAML) into Spark SQL and a plan for the Spark runner.\n" +
        "Phases: validate the spec -> plan -> emit one SQL file per view and plan.json.",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program
    .command("validate")
    .description("check a spec and report every problem at once with file:line:column (exit 2 when invalid)")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("--json", "print the diagnostics as JSON")
    .addHelpText("after", "\nExample:\n  sensor-streaming validate conf/pipeline.yaml --profile cluster")
    .action((spec: string | undefined, options: { profile?: string; json?: boolean }) => {
      process.exitCode = validateCommand(spec, options, io);
    });

  program
    .command("compile")
    .description("write sql/<pipeline>/: one SQL file per view and plan.json for the runner")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("-o, --out <dir>", "output folder", DEFAULT_OUT)
    .option("--check", "write nothing; exit 4 when the output folder is not what the spec compiles to")
    .addHelpText(
      "after",
      "\nThe output is deterministic and keeps ${VAR} templates of endpoints and paths as written,\n" +
        "so the committed sql/ folder is the same on every machine.\n\n" +
        "Examples:\n  sensor-streaming compile\n  sensor-streaming compile conf/pipeline.yaml --check",
    )
    .action((spec: string | undefined, options: { profile?: string; out?: string; check?: boolean }) => {
      process.exitCode = compileCommand(spec, options, io);
    });

  program
    .command("explain")
    .description("summarise a spec: sources, views, windows and their state, sinks and triggers")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .addOption(
      new Option("--format <format>", "text, or a Mermaid flowchart of sources -> views -> sinks (GitHub renders it)")
        .choices(["text", "mermaid"])
        .default("text"),
    )
    .addHelpText("after", "\nExample:\n  sensor-streaming explain --format mermaid > pipeline.mmd")
    .action((spec: string | undefined, options: { profile?: string; format?: string }) => {
      process.exitCode = explainCommand(spec, options, io);
    });

  program
    .command("stage")
    .description("compile, bind ${VAR} settings from the environment and write a content-addressed folder the Spark driver reads")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("-o, --out <dir>", `staging root (default: $SENSOR_STREAMING_STAGING or ${DEFAULT_STAGING})`)
    .addHelpText(
      "after",
      "\nPrints the staged plan.json's path on stdout. Relative paths in the spec are bound against the\n" +
        "current folder and become file: URIs. The same content always lands in the same folder.\n\n" +
        "Example:\n  KAFKA_BOOTSTRAP=localhost:9092 sensor-streaming stage --profile local",
    )
    .action((spec: string | undefined, options: { profile?: string; out?: string }) => {
      process.exitCode = stageCommand(spec, options, io);
    });

  program
    .command("simulate")
    .description("send synthetic readings of every registered device to Kafka, or through the ingestion proxy (demos, benchmarks)")
    .option("--registry <csv>", "sensor registry", "data/registry.csv")
    .option("--brokers <list>", "Kafka bootstrap servers", process.env.KAFKA_BOOTSTRAP ?? "localhost:9092")
    .option("--topic <name>", "Kafka topic", process.env.KAFKA_TOPIC ?? "live-data")
    .option("--to <url>", "send through the ingestion proxy at this URL (POST /stream, batches of readings), as sensors do; token from $PROXY_TOKEN")
    .option("--rate <n>", "readings per second over all devices", "20")
    .option("--duration <seconds>", "stop after this long (default: until Ctrl-C)")
    .option("--bad <fraction>", "share of deliberately bad messages (malformed JSON, unregistered devices)", "0.01")
    .option("--seed <n>", "random seed", "1")
    .addHelpText("after", "\nExamples:\n  sensor-streaming simulate --rate 50 --duration 60\n  sensor-streaming simulate --to http://localhost:8090")
    .action(async (options: SimulateCliOptions & { to?: string }) => {
      const { to } = options;
      process.exitCode = to === undefined ? await simulateCommand(options, io) : await simulateToProxyCommand({ ...options, to }, io);
    });

  program
    .command("proxy")
    .description("the ingestion proxy: sensors POST readings over HTTP, checked against the spec, written to its Kafka topic (acks=-1)")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("--port <n>", "HTTP port (0: any free port)", String(DEFAULT_PROXY_PORT))
    .option("--host <address>", "address to listen on (default: 0.0.0.0 with tokens, 127.0.0.1 without)")
    .option("--brokers <list>", "Kafka bootstrap servers (default: the spec's source.kafka.bootstrapServers)")
    .option("--topic <name>", "Kafka topic (default: the spec's source.kafka.topic)")
    .option("--max-body <bytes>", "largest request body; a larger one gets 413 without being read", String(DEFAULT_MAX_BODY))
    .option("--ack-timeout <ms>", "how long a request waits for Kafka's acknowledgement before 503", String(DEFAULT_ACK_TIMEOUT_MS))
    .option("--tokens-file <file>", "bearer tokens, one per line (besides $PROXY_TOKENS, comma-separated); SIGHUP reads it again")
    .option("--require-auth", "refuse to start without a token (exit 3), so authentication cannot be off by mistake")
    .option("--schema", "print the JSON Schema readings are checked against, and exit")
    .addHelpText(
      "after",
      "\nPOST /stream takes one reading (a JSON object) or an array of them. 200: all written; 207: the\n" +
        "valid ones written, or a request written in part: a result per reading; 400: none valid, every\n" +
        "reason per reading; 401: no or a wrong token; 413: body over --max-body, or a reading Kafka\n" +
        "refuses as too large; 415: not UTF-8 application/json; 422: Kafka refused the reading; 503 +\n" +
        "Retry-After: Kafka did not acknowledge in time. GET /health (200 only when Kafka answers), GET /metrics.\n" +
        "Authentication is on when tokens are given ($PROXY_TOKENS, --tokens-file; set but holding no\n" +
        "token is an error). JSON log lines on stdout; SIGTERM drains and exits 0.\n\n" +
        "Examples:\n  sensor-streaming proxy --profile local\n" +
        "  PROXY_TOKENS=token-a,token-b sensor-streaming proxy --port 8090 --host 0.0.0.0\n  sensor-streaming proxy --schema",
    )
    .action(async (spec: string | undefined, options: ProxyCliOptions) => {
      process.exitCode = await proxyCommand(spec, options, io);
    });

  program
    .command("inspect")
    .description("show the newest rows of the raw or dead-letter Parquet output, or the points InfluxDB refused, as a table, without Spark")
    .argument("<which>", "raw | rejected | refused")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("-n, --limit <rows>", "how many rows", "20")
    .option("--columns <list>", "comma-separated columns to show (default: the useful ones)")
    .addHelpText(
      "after",
      "\nrefused: the lines InfluxDB refused (4xx other than 429) with its status and reason, from the\n" +
        "InfluxDB sinks' dead-letter folder (refusedPath in plan.json).\n\n" +
        "Examples:\n  sensor-streaming inspect rejected --limit 5\n" +
        "  sensor-streaming inspect raw --columns event_time,classroom,co2\n  sensor-streaming inspect refused",
    )
    .action(async (which: string, spec: string | undefined, options: { profile?: string; limit: string; columns?: string }) => {
      process.exitCode = which === "refused" ? await inspectRefusedCommand(spec, options, io) : await inspectCommand(which, spec, options, io);
    });

  const registry = program
    .command("registry")
    .description("check the sensor registry CSV against the spec, upload it where the pipeline reads it (registry.path), show what is there")
    .addHelpText(
      "after",
      "\nThe target is the spec's registry.path with the profile and ${VAR}s applied, as start binds it:\n" +
        "a local path (relative to the current folder) or an hdfs:// URL, reached through WebHDFS\n" +
        "(WEBHDFS_URL, default http://<NameNode host>:9870; HADOOP_USER_NAME). An upload is checked first\n" +
        "and replaces the file in one step (a temporary file renamed over it), so the pipeline never reads\n" +
        "half a registry.\n\n" +
        "Examples:\n  sensor-streaming registry validate data/registry.csv\n" +
        "  sensor-streaming registry upload data/registry.csv --profile cluster --dry-run\n  sensor-streaming registry show -p cluster\n" +
        "  ./data/upload-data.sh                 (the same upload, for operators)",
    );
  const csvArgument = `registry CSV (default: ${DEFAULT_REGISTRY_CSV})`;

  registry
    .command("validate")
    .description(`check a registry CSV against the spec; every problem with its line (exit ${EXIT.invalidRegistry} when invalid)`)
    .argument("[csv]", csvArgument)
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .addHelpText(
      "after",
      "\nChecks that the file is UTF-8 (a byte order mark is dropped), that the header names the spec's\n" +
        "registry.key and registry.columns, that every row has as many values as the header, that no\n" +
        "row lacks a key and no key appears twice, and that Spark reads every value as written: values\n" +
        "with commas in double quotes, no double quotes inside values, no line breaks inside quotes.\n\n" +
        "Examples:\n  sensor-streaming registry validate\n  sensor-streaming registry validate new-devices.csv conf/pipeline.yaml --profile cluster",
    )
    .action((csv: string | undefined, spec: string | undefined, options: { profile?: string }) => {
      process.exitCode = registryValidateCommand(csv, spec, options, io);
    });

  registry
    .command("upload")
    .description("validate a registry CSV, then replace the registry the pipeline reads with it, atomically; prints the devices added, removed and changed")
    .argument("[csv]", csvArgument)
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .option("--dry-run", "validate and print what would change; write nothing")
    .option("--if-missing", "upload only when no registry is there yet (./start-spark-streaming.sh --cluster uses it)")
    .addHelpText(
      "after",
      "\nNothing is written when the CSV has a problem (exit " +
        EXIT.invalidRegistry +
        ") or when the registry there is already the same file.\n\n" +
        "Examples:\n  sensor-streaming registry upload\n  sensor-streaming registry upload data/registry.csv --profile cluster --dry-run\n" +
        "  WEBHDFS_URL=http://localhost:9870 sensor-streaming registry upload -p cluster",
    )
    .action(async (csv: string | undefined, spec: string | undefined, options: { profile?: string; dryRun?: boolean; ifMissing?: boolean }) => {
      process.exitCode = await registryUploadCommand(csv, spec, options, io);
    });

  registry
    .command("show")
    .description("print the registry the pipeline reads as a table, with its location and number of devices")
    .argument("[spec]", specArgument)
    .addOption(profileOption)
    .addHelpText("after", "\nExamples:\n  sensor-streaming registry show\n  sensor-streaming registry show --profile cluster")
    .action(async (spec: string | undefined, options: { profile?: string }) => {
      process.exitCode = await registryShowCommand(spec, options, io);
    });

  const jobOptions = (command: Command): Command =>
    command
      .argument("[spec]", specArgument)
      .addOption(profileOption)
      .option("--livy <url>", "Livy REST endpoint (default: $LIVY_URL or http://localhost:8998)")
      .addOption(
        new Option(
          "--target <kind>",
          "where the job's files are staged: the local stack's folder, or the Spark master container (default: $SENSOR_STREAMING_TARGET or local)",
        ).choices(["local", "docker"]),
      )
      .option(
        "--container <name>",
        "Spark master container for --target docker (default: $SPARK_MASTER_CONTAINER or spark-master; " +
          "folder in it: $SENSOR_STREAMING_CONTAINER_STAGING or /opt/sensor-streaming/staging)",
      );

  jobOptions(program.command("start"))
    .description("validate, compile, stage and submit the pipeline through Livy; wait until every query runs")
    .option("--background", "return once the job runs (the default)")
    .option("--foreground", "stay attached: show each query's progress and the log's warnings until the job ends; Ctrl-C detaches")
    .option("--stop-on-interrupt", "with --foreground: Ctrl-C stops the pipeline gracefully instead of detaching (the demo of run-pipeline.sh)")
    .option("--replace", "if the pipeline already runs, stop it gracefully first")
    .option("--fresh-state", "run queries whose checkpoint cannot be resumed (changed window, grouping, topic, sink) on new checkpoints")
    .option("--timeout <seconds>", "how long to wait for every query's first progress", "300")
    .option("--no-supervise", "do not launch the supervisor that submits the pipeline again when its job dies")
    .addHelpText(
      "after",
      "\nBefore submitting, the plan is compared with the one that wrote each checkpoint; every query is\n" +
        "reported as resuming or needing fresh state, and start refuses (exit 9) unless --fresh-state.\n\n" +
        "With --foreground the view keeps going while Livy does not answer (a restart, a 503) and\n" +
        "gives up with exit 8 after 2 minutes; Ctrl-C detaches. Ctrl-C before the job runs ends start\n" +
        "(exit 130) and releases the pipeline's start lock; a job already submitted keeps running.\n\n" +
        "Exit codes: 0 started (or, with --foreground, ended normally), 5 failed to start (Livy's or\n" +
        "Spark's reason is printed), 6 ended with an error, 7 already running (or another start of it\n" +
        "is in progress), 8 Livy unreachable or failing, 9 a checkpoint cannot be resumed.\n\n" +
        "Examples:\n  sensor-streaming start --profile local\n  sensor-streaming start --foreground --replace",
    )
    .action(
      async (
        spec: string | undefined,
        options: JobOptions & { foreground?: boolean; stopOnInterrupt?: boolean; replace?: boolean; timeout?: string; freshState?: boolean },
      ) => {
        process.exitCode = await startCommand(spec, options, io);
      },
    );

  jobOptions(program.command("supervise"))
    .description("watch the pipeline's job and submit it again whenever it dies (start launches this in the background)")
    .addHelpText(
      "after",
      "\nRuns until stopped (SIGTERM, Ctrl-C, or sensor-streaming stop, which ends it before the job).\n" +
        "Checks the job every 5 s; a job that ended without a stop is submitted again after 5 s, then\n" +
        "10 s, 20 s ... up to 5 min while restarts keep failing. One supervisor per pipeline (exit 7 if\n" +
        "one runs). `start` launches it detached, logging to <state dir>/<pipeline>.supervisor.log.\n\n" +
        "Example:\n  sensor-streaming supervise conf/pipeline.yaml --profile local",
    )
    .action(async (spec: string | undefined, options: JobOptions) => {
      process.exitCode = await superviseCommand(spec, options, io);
    });

  jobOptions(program.command("stop"))
    .description("stop the pipeline gracefully (its running micro-batch finishes), then DELETE the batch after --timeout")
    .option("--timeout <seconds>", "how long to wait for the graceful stop", "120")
    .action(async (spec: string | undefined, options: JobOptions & { timeout?: string }) => {
      process.exitCode = await stopCommand(spec, options, io);
    });

  jobOptions(program.command("status"))
    .description("the pipeline's Livy batch: state, uptime and every query's health and latest progress; exits non-zero unless it runs as it should")
    .option("--json", "machine-readable output")
    .addHelpText(
      "after",
      "\nPer query: its progress, or that it waits for InfluxDB (since when, how many attempts, the last\n" +
        "cause), restarts after a failure, and how many lines InfluxDB refused.\n\n" +
        "Exit codes, as systemctl status does, for scripts that alert: 0 running as it should,\n" +
        "10 not running, 11 running but degraded (a sink waits for InfluxDB, a query restarts or\n" +
        "failed, the batch is not in state running), 8 Livy unreachable or failing.\n\n" +
        'Example:\n  sensor-streaming status --json || alert "sensor pipeline: exit $?"',
    )
    .action(async (spec: string | undefined, options: JobOptions & { json?: boolean }) => {
      process.exitCode = await statusCommand(spec, options, io);
    });

  jobOptions(program.command("logs"))
    .description("the driver log of the pipeline's Livy batch")
    .option("-f, --follow", "keep printing new lines until the job ends or Ctrl-C")
    .action(async (spec: string | undefined, options: JobOptions & { follow?: boolean }) => {
      process.exitCode = await logsCommand(spec, options, io);
    });

  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (thrown) {
    const error = asExitError(thrown);
    if (error instanceof CommanderError) {
      // --help and --version end through here with code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ExitError) {
      io.err(error.message);
      if (error.hint !== undefined) io.err(`hint: ${error.hint}`);
      return error.exitCode;
    }
    io.err(`internal error: ${(error as Error).stack ?? String(error)}`);
    io.err("this is a bug in sensor-streaming; please report it with the command you ran");
    return EXIT.internal;
  }
}

process.exitCode = await run(process.argv.slice(2));
