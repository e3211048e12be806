"""An ASGI app served by uvicorn on 127.0.0.1 in a thread, for tests over real HTTP."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from scf_plugins.server.running import bound_url


class Served:
    """``Served(app)`` listens on a free loopback port (``.url``) until :meth:`stop`."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self.url = bound_url(self.server)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(10)
