/**
 * A stand-in for Livy on a free local port (node:http), for tests of how our client and commands
 * handle what Livy answers: an HTTP status, an HTML error page, a reset connection, a batch and
 * its log. It is not Livy: tests that need Livy itself are end to end, against the real stack.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Reply = (request: IncomingMessage, response: ServerResponse) => void;

export interface StandIn {
  readonly url: string;
  /** Method and path of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export const json =
  (status: number, body: unknown): Reply =>
  (_, response) => {
    response.writeHead(status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(body));
  };

export const html =
  (status: number, page: string): Reply =>
  (_, response) => {
    response.writeHead(status, { "Content-Type": "text/html;charset=iso-8859-1" });
    response.end(page);
  };

/** Closes the connection without an answer: the client sees a reset. */
export const reset: Reply = (request) => request.socket.destroy();

/** Never answers. */
export const hang: Reply = () => undefined;

/** Jetty's error page, as Livy serves it for an internal error. */
export const JETTY_500 =
  '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error 500 Server Error</title>\n</head>\n' +
  "<body><h2>HTTP ERROR 500</h2>\n<p>Problem accessing /batches. Reason:\n<pre>    Server Error</pre></p><hr>" +
  '<a href="http://eclipse.org/jetty">Powered by Jetty:// 9.3.24.v20180605</a><hr/>\n' +
  `${"<br/>                                                \n".repeat(20)}</body>\n</html>\n`;

/** Serves each request with `route(method and path, count of earlier requests to that path)`. */
export async function standInLivy(route: (request: string, seen: number) => Reply): Promise<StandIn> {
  const requests: string[] = [];
  const seen = new Map<string, number>();
  const server = createServer((request, response) => {
    const key = `${request.method} ${request.url}`;
    requests.push(key);
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    request.resume();
    route(key, count)(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
