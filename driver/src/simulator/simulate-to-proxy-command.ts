/**
 * `simulate --to URL`: the simulator's readings through the ingestion proxy, the path real
 * sensors take. The options are `simulate`'s; the token comes from PROXY_TOKEN (else the first of
 * PROXY_TOKENS, as the proxy started in the same shell reads them).
 */
import { readFileSync } from "node:fs";
import { numberOption, type Output, type SimulateCliOptions } from "../cli/commands.js";
import { EXIT, ExitError } from "../cli/exit-codes.js";
import { ProxySendError, streamUrl } from "./proxy-sender.js";
import { parseRegistryCsv, type RegistryDevice } from "./readings.js";
import { simulate } from "./simulate.js";

export function proxyToken(env: NodeJS.ProcessEnv): string | undefined {
  const token =
    env.PROXY_TOKEN?.trim() ||
    env.PROXY_TOKENS?.split(",")
      .map((t) => t.trim())
      .find((t) => t !== "");
  return token === "" ? undefined : token;
}

function registryDevices(file: string): RegistryDevice[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ExitError(EXIT.fileError, `cannot read the registry ${file}: ${(error as Error).message}`, "pass --registry PATH");
  }
  let devices: RegistryDevice[];
  try {
    devices = parseRegistryCsv(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new ExitError(
      EXIT.fileError,
      `cannot use the registry ${file}: ${(error as Error).message}`,
      "the header must name institute,DevEui,profile,classroom",
    );
  }
  if (devices.length === 0) throw new ExitError(EXIT.fileError, `the registry ${file} lists no devices`);
  return devices;
}

export async function simulateToProxyCommand(options: SimulateCliOptions & { readonly to: string }, io: Output): Promise<number> {
  let url: string;
  try {
    url = streamUrl(options.to);
  } catch {
    throw new ExitError(EXIT.usage, `--to must be the proxy's URL, such as http://localhost:8090, got "${options.to}"`);
  }
  const devices = registryDevices(options.registry);
  const rate = numberOption(options.rate, "rate", 0.01);
  const durationSeconds = options.duration === undefined ? undefined : numberOption(options.duration, "duration", 1);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  io.err(
    `simulator: ${devices.length} devices, ${rate} readings/s through the proxy at ${url}` +
      `${durationSeconds === undefined ? " until Ctrl-C" : ` for ${durationSeconds} s`}`,
  );
  try {
    await simulate({
      brokers: [],
      topic: "",
      to: url,
      token: proxyToken(process.env),
      devices,
      rate,
      durationSeconds,
      badFraction: numberOption(options.bad, "bad", 0, 1),
      seed: numberOption(options.seed, "seed", 0),
      log: io.err,
      signal: controller.signal,
    });
  } catch (error) {
    if (error instanceof ProxySendError) throw new ExitError(EXIT.fileError, error.message, error.hint);
    throw error;
  }
  return EXIT.ok;
}
