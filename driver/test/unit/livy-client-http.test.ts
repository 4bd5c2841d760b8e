/**
 * How our Livy client handles what comes back over HTTP (an error status, Jetty's HTML page, a
 * reset connection), against a stand-in Livy on a local port: it tests our handling of HTTP, not
 * Livy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LivyClient, LivyError, shortMessage } from "../../src/livy/livy-client.js";
import { hang, html, JETTY_500, json, reset, standInLivy, type StandIn } from "./stand-in-livy.js";

const BATCH = { id: 7, name: "sensor-streaming-schools-20260301T100000", state: "running", appId: null, appInfo: {}, log: [] };
let livy: StandIn | undefined;
afterEach(async () => livy?.close());

async function failure(call: Promise<unknown>): Promise<LivyError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LivyError);
  return error as LivyError;
}

describe("shortMessage", () => {
  it("takes Livy's msg from its JSON error", () => {
    expect(shortMessage('{"msg":"requirement failed: Local path /x cannot be added to user sessions."}')).toBe(
      "requirement failed: Local path /x cannot be added to user sessions.",
    );
  });

  it("strips an HTML page to its text and cuts it", () => {
    expect(shortMessage(JETTY_500)).toBe("HTTP ERROR 500 Problem accessing /batches. Reason: Server Error Powered by Jetty:// 9.3.24.v20180605");
    expect(shortMessage(`<p>${"x".repeat(2000)} &amp; more</p>`)).toHaveLength(500);
    expect(shortMessage("")).toBe("(no message)");
  });
});

describe("LivyClient against a stand-in Livy over HTTP", () => {
  it("turns a 500 with Jetty's HTML page into a short message with the status, after retrying the read", async () => {
    livy = await standInLivy(() => html(500, JETTY_500));
    const error = await failure(new LivyClient(livy.url, { backoffMs: 1 }).list());
    expect(error.status).toBe(500);
    expect(error.unavailable).toBe(true);
    expect(error.message).toBe(
      "Livy answered GET /batches?from=0&size=1000 with HTTP 500 Internal Server Error: " +
        "HTTP ERROR 500 Problem accessing /batches. Reason: Server Error Powered by Jetty:// 9.3.24.v20180605",
    );
    expect(livy.requests).toHaveLength(4);
  });

  it("reads through one 503 and one reset connection (Livy restarting, a proxy in front of it)", async () => {
    livy = await standInLivy((_, seen) => [html(503, "<h1>Service Unavailable</h1>"), reset, json(200, BATCH)][seen] ?? json(200, BATCH));
    expect(await new LivyClient(livy.url, { backoffMs: 1 }).batch(7)).toMatchObject({ id: 7, state: "running" });
    expect(livy.requests).toEqual(["GET /batches/7", "GET /batches/7", "GET /batches/7"]);
  });

  it("retries a read that got no answer in time", async () => {
    livy = await standInLivy((_, seen) => (seen === 0 ? hang : json(200, BATCH)));
    expect(await new LivyClient(livy.url, { backoffMs: 1, timeoutMs: 200 }).batch(7)).toMatchObject({ id: 7 });
  });

  it("does not repeat a submit that may have reached Livy (503, reset): it could create a second batch", async () => {
    livy = await standInLivy((request) => (request.startsWith("POST") ? reset : json(200, BATCH)));
    const resetError = await failure(new LivyClient(livy.url, { backoffMs: 1 }).submit({ file: "/x.jar" }));
    expect(resetError.status).toBeUndefined();
    expect(resetError.message).toMatch(/^cannot reach Livy at http:\/\/127\.0\.0\.1:\d+ \(POST \/batches\)/);
    await livy.close();
    livy = await standInLivy(() => html(503, "<h1>Service Unavailable</h1>"));
    expect((await failure(new LivyClient(livy.url, { backoffMs: 1 }).submit({ file: "/x.jar" }))).status).toBe(503);
    expect(livy.requests).toEqual(["POST /batches"]);
  });

  it("keeps Livy's own message of a refusal (400) and does not retry it", async () => {
    livy = await standInLivy(() => json(400, { msg: "requirement failed: Local path /x.jar cannot be added to user sessions." }));
    const error = await failure(new LivyClient(livy.url, { backoffMs: 1 }).batch(7));
    expect(error).toMatchObject({ status: 400, unavailable: false, livyMessage: "requirement failed: Local path /x.jar cannot be added to user sessions." });
    expect(livy.requests).toHaveLength(1);
  });

  it("says so when something other than Livy answers with a page instead of JSON", async () => {
    livy = await standInLivy(() => html(200, "<html><body>Welcome to nginx!</body></html>"));
    const error = await failure(new LivyClient(livy.url, { backoffMs: 1 }).batch(7));
    expect(error.status).toBeUndefined();
    expect(error.message).toContain("answered GET /batches/7 (HTTP 200) with something other than JSON: Welcome to nginx!");
  });
});
