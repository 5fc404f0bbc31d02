"""What the platform and courier simulators share: a WSGI app served in a background thread, logging nothing."""

import threading
from typing import Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """Logs no request lines: they carry tokens and signs in their query strings."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class BackgroundServer:
    """One WSGI app on host:port (port 0: a free one), served by a daemon thread until stopped."""

    def __init__(self, app: Callable, host: str, port: int, name: str):
        self.app, self.host, self.port, self.name = app, host, port, name
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    @property
    def bound_port(self) -> int:
        assert self.server is not None
        return self.server.server_port

    def start(self) -> None:
        if self.server is None:
            self.server = make_server(self.host, self.port, self.app, threaded=True,
                                      request_handler=QuietRequestHandler)
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                           name=self.name, daemon=True)
            self.thread.start()

    def stop(self) -> None:
        """Stop serving; connections are refused afterwards."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            if self.thread is not None:
                self.thread.join(timeout=5)
            self.server, self.thread = None, None
