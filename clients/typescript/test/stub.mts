/** A scripted HTTP server on 127.0.0.1 for the client's own tests: it answers each request
 * with the next scripted response and records what it was sent. */

import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
  /** Close the connection after answering without saying so (a server's idle timeout). */
  dropConnection?: boolean;
}

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  connection: number;
}

export function problem(status: number, slug: string, title: string, members: Record<string, unknown> = {}): Scripted {
  return {
    status,
    body: { type: `https://benteng.dev/problems/${slug}`, title, status, ...members },
    contentType: "application/problem+json",
  };
}

export class Stub {
  readonly requests: Recorded[] = [];
  connections = 0;
  readonly #script: Scripted[];
  readonly #server: http.Server;
  readonly #numbers = new WeakMap<Socket, number>();
  #dropped: () => void = () => {};
  /** Resolves once a connection was closed after its answer (`dropConnection`). */
  readonly dropped = new Promise<void>((resolve) => {
    this.#dropped = resolve;
  });

  constructor(script: Scripted[]) {
    this.#script = [...script];
    this.#server = http.createServer({ keepAlive: true }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        this.requests.push({
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          connection: this.#numbers.get(request.socket) ?? 0,
        });
        const scripted = this.#script.shift() ?? { status: 500, body: { no: "script" } };
        const data =
          typeof scripted.body === "string" ? scripted.body : scripted.body === undefined ? "" : JSON.stringify(scripted.body);
        response.writeHead(scripted.status, {
          "content-type": scripted.contentType ?? "application/json",
          "content-length": Buffer.byteLength(data),
          ...scripted.headers,
        });
        response.end(data, () => {
          if (scripted.dropConnection) {
            request.socket.destroy();
            request.socket.once("close", () => this.#dropped());
          }
        });
      });
    });
    this.#server.on("connection", (socket: Socket) => {
      this.connections += 1;
      this.#numbers.set(socket, this.connections);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
