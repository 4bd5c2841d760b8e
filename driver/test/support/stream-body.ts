/**
 * A large request body streamed slowly to the proxy, to see it answered before the body is read
 * whole (413). Shared by the proxy's unit and end-to-end tests.
 */
import http from "node:http";

/** Streams `total` bytes in 64 KiB chunks to `<url>/stream` until the proxy answers; returns the status and the bytes sent by then. */
export function streamBody(url: string, total: number, declareLength: boolean, firstChunkAfterMs: number): Promise<{ status: number; sent: number }> {
  const target = new URL(`${url}/stream`);
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answered = false;
    const request = http.request({
      host: target.hostname,
      port: target.port,
      method: "POST",
      path: target.pathname,
      headers: { "content-type": "application/json", ...(declareLength ? { "content-length": String(total) } : { "transfer-encoding": "chunked" }) },
    });
    request.on("response", (response) => {
      answered = true;
      response.resume();
      resolve({ status: response.statusCode!, sent });
    });
    // The proxy closes the connection after its 413; writes after that fail, as they should.
    request.on("error", (error) => (answered ? undefined : reject(error)));
    const pump = (): void => {
      if (answered || sent >= total) return;
      sent += chunk.length;
      request.write(chunk);
      setTimeout(pump, 2);
    };
    request.flushHeaders();
    setTimeout(pump, declareLength ? firstChunkAfterMs : 0);
  });
}
