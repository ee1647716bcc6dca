"""What the daemon starts and stops with it besides collection: the hooks' delivery worker, the
mail poller. Its own module so that the app (which builds them) and the scheduler (which runs
them) both name it without importing each other."""

from __future__ import annotations

from typing import Protocol


class Background(Protocol):
    """A helper thread the daemon starts and stops with it."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
