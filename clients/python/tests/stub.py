"""A scripted HTTP server on 127.0.0.1 for the client's own tests: it answers each request
with the next scripted response and records what it was sent."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Scripted:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Close the connection after answering without saying so (a server's idle timeout).
    drop_connection: bool = False


def problem(status: int, slug: str, title: str, **members: object) -> Scripted:
    document = {"type": f"https://benteng.dev/problems/{slug}", "title": title, "status": status}
    document.update(members)
    return Scripted(status, document, content_type="application/problem+json")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int


class Stub:
    def __init__(self, script: list[Scripted]) -> None:
        self.script = list(script)
        self.requests: list[Recorded] = []
        self.connections = 0
        # Set once a connection was closed after its answer (`Scripted.drop_connection`).
        self.dropped = threading.Event()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                stub.connections += 1
                self.connection_number = stub.connections

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                stub.requests.append(
                    Recorded(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        self.connection_number,
                    )
                )
                scripted = stub.script.pop(0) if stub.script else Scripted(500, {"no": "script"})
                if isinstance(scripted.body, (bytes, str)):
                    data = scripted.body.encode() if isinstance(scripted.body, str) else scripted.body
                else:
                    data = json.dumps(scripted.body).encode()
                self.send_response(scripted.status)
                self.send_header("Content-Type", scripted.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if scripted.drop_connection:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    stub.dropped.set()

            do_GET = _answer
            do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
