"""The daemon's mail poller: one poll every `intake.mail.interval` in its own thread (a slow or
hung IMAP server never holds up collections or the case clocks). A poll that fails is already a
self-check case (agent.mailin.poll); anything else unexpected is logged and the next poll runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent.mailin.poll import MailPoller

log = logging.getLogger(__name__)


class MailWorker:
    def __init__(self, poller: MailPoller, interval: float,
                 on_changes: Callable[[], None] | None = None) -> None:
        self.poller = poller
        self.interval = interval
        self.on_changes = on_changes  # wakes the hooks' worker: a new case's hooks go out at once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="mail-intake", daemon=True)
        self._thread.start()
        log.info("mail intake: polling %s every %g s", self.poller.s.key, self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.poller.poll()
                if result.messages and self.on_changes is not None:
                    self.on_changes()
            except Exception:  # a bug or the store: say so, keep polling
                log.exception("mail intake %s: poll failed", self.poller.s.key)
            self.polls += 1
            self._stop.wait(self.interval)
