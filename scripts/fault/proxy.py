#!/usr/bin/env python3
"""A small TCP proxy with faults, between benteng and one of its stores (toxiproxy is not in
Debian). Listens on --listen, forwards to --upstream. A control port takes one command per line:

  latency MS     delay every forwarded chunk by MS milliseconds (both directions; 0 = none)
  drop           close every open connection now (both sides see a reset/EOF)
  refuse SECS    close new connections at once for SECS seconds (a short partition)
  clear          no latency, no refusal
  stats          one line: open connections, connections so far, drops

Each command is answered with one line (`ok …` or `error …`). Standard library only.
"""

import argparse
import asyncio
import time


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.latency = 0.0
        self.refuse_until = 0.0
        self.open: set[asyncio.StreamWriter] = set()
        self.total = 0
        self.dropped = 0

    async def pipe(self, reader, writer):
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if self.latency > 0:
                    await asyncio.sleep(self.latency)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError, RuntimeError):
                pass

    async def client(self, reader, writer):
        self.total += 1
        if time.monotonic() < self.refuse_until:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), timeout=5
            )
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        self.open.add(writer)
        self.open.add(up_writer)
        try:
            await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        finally:
            self.open.discard(writer)
            self.open.discard(up_writer)

    def drop(self):
        for writer in list(self.open):
            self.dropped += 1
            writer.transport.abort()
        self.open.clear()

    async def control(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            words = line.decode().split()
            answer = "ok"
            try:
                match words:
                    case ["latency", ms]:
                        self.latency = max(0, int(ms)) / 1000
                    case ["drop"]:
                        self.drop()
                    case ["refuse", secs]:
                        self.refuse_until = time.monotonic() + float(secs)
                    case ["clear"]:
                        self.latency = 0.0
                        self.refuse_until = 0.0
                    case ["stats"]:
                        answer = f"ok open={len(self.open) // 2} total={self.total} dropped={self.dropped}"
                    case _:
                        answer = "error unknown command"
            except ValueError:
                answer = "error bad argument"
            writer.write((answer + "\n").encode())
            await writer.drain()
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="HOST:PORT")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    proxy = Proxy(host, int(port))
    server = await asyncio.start_server(proxy.client, "127.0.0.1", args.listen)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", args.control)
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


if __name__ == "__main__":
    asyncio.run(main())
