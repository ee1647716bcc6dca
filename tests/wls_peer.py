"""A fake WebLogic admin server on 127.0.0.1 over HTTPS (self-signed certificate from
tests/hook_peers.py): the REST management API's serverRuntimes and domainRuntime search,
answering from `servers`, which a test changes between cycles."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.hook_peers import self_signed
from tests.peers import HOST, free_port

RUNTIMES = "/management/weblogic/latest/domainRuntime/serverRuntimes"
SEARCH = "/management/weblogic/latest/domainRuntime/search"


@dataclass
class AdminServer:
    workdir: Path
    user: str = "monitor"
    password: str = "W3blogic-pw!"
    # name → {"state", "activationTime", "heap": (current, free, max) or None, …}
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: int | None = None  # force this HTTP status on every request
    body: bytes | None = None  # force this body (e.g. an HTML error page)
    search_status: int = 200
    hold: threading.Event | None = None  # set: answer only once it is released (a hung server)
    requests: list[Request] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _server: BaseWSGIServer | None = None

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def start(self) -> Self:
        self.cert, self.key = self_signed(self.workdir)
        self._server = make_server(HOST, self.port, self._app, threaded=True,
                                   ssl_context=(self.cert, self.key))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        req.get_data()
        self.requests.append(req)
        if self.hold is not None:
            self.hold.wait(30)
        return self._route(req)(environ, start_response)

    def _route(self, req: Request) -> Response:
        want = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if req.headers.get("Authorization") != want:
            return Response("<html>401 Unauthorized</html>", 401, content_type="text/html")
        if self.status is not None:
            return Response(self.body or b"<html>error</html>", self.status, content_type="text/html")
        if self.body is not None:
            return Response(self.body, 200, content_type="text/html")
        if req.method == "GET" and req.path == RUNTIMES:
            fields = req.args.get("fields", "").split(",")
            items = [{k: v for k, v in {"name": n, **s}.items() if k in fields} for n, s in self.servers.items()]
            return self._json({"items": items})
        if req.method == "POST" and req.path == SEARCH:
            if self.search_status != 200:
                return Response("not found", self.search_status)
            items = [{"name": n, "JVMRuntime": {"heapSizeCurrent": s["heap"][0], "heapFreeCurrent": s["heap"][1],
                                                "heapSizeMax": s["heap"][2]}}
                     for n, s in self.servers.items() if s.get("heap")]
            return self._json({"serverRuntimes": {"items": items}})
        return Response("not found", 404)

    @staticmethod
    def _json(doc: Any) -> Response:
        return Response(json.dumps(doc), 200, content_type="application/json")
