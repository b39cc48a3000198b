"""A small stand-in for the Hugging Face Hub on 127.0.0.1: it answers the HTTP calls `huggingface_hub` makes to
create a repository and commit a folder, and keeps the files it receives."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HubStandIn:
    def __init__(self, fail_commits: bool = False):
        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, dict[str, bytes]] = {}  # repo -> path -> content
        self.fail_commits = fail_commits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict | None = None, headers: dict | None = None):
                payload = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_HEAD(self):
                hub.requests.append(("HEAD", self.path))
                self._reply(404, headers={"X-Error-Code": "EntryNotFound"})

            def do_GET(self):
                hub.requests.append(("GET", self.path))
                self._reply(404, {"error": "not found"}, {"X-Error-Code": "EntryNotFound"})

            def do_POST(self):
                hub.requests.append(("POST", self.path))
                body = self._body()
                parts = self.path.split("?")[0].strip("/").split("/")
                if self.path.startswith("/api/repos/create"):
                    name = json.loads(body)
                    repo = f"{name.get('organization') or 'user'}/{name['name']}"
                    hub.files.setdefault(repo, {})
                    return self._reply(200, {"url": f"{hub.endpoint}/{repo}", "name": repo})
                if self.path.startswith("/api/validate-yaml"):
                    return self._reply(200, {"errors": [], "warnings": []})
                if len(parts) >= 5 and parts[0] == "api" and parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                    return self._reply(200, {"files": modes, "commitOid": "0" * 40})
                if len(parts) >= 5 and parts[0] == "api" and parts[4] == "commit":
                    if hub.fail_commits:  # as the Hub answers a token without write access (a 5xx would be retried)
                        return self._reply(403, {"error": "the stand-in refuses this commit"})
                    repo = f"{parts[2]}/{parts[3]}"
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            content = base64.b64decode(item["value"]["content"])
                            hub.files.setdefault(repo, {})[item["value"]["path"]] = content
                    oid = "1" * 40
                    return self._reply(200, {"commitUrl": f"{hub.endpoint}/{repo}/commit/{oid}", "commitOid": oid})
                return self._reply(404, {"error": f"unknown call {self.path}"})

        return Handler
