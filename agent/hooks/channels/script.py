"""Script: an executable run with an argv list (no shell), the delivery as JSON on stdin.

Exit 0 is success; a JSON object on stdout with `ticket_id` (and `ticket_url`) names the
ticket it made. The idempotency key is also in $XUNJIAN_IDEMPOTENCY_KEY.
"""

from __future__ import annotations

import json
import os
import subprocess

from agent.hooks.channels.base import ChannelBase, Delivery, Outcome, Ticket
from agent.hooks.channels.webhook import document
from agent.hooks.settings import ChannelSettings


class ScriptChannel(ChannelBase):
    type = "script"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.argv = [str(settings.path(self.m.argv[0])) if self.m.argv[0].startswith(("./", "../"))
                     else self.m.argv[0], *self.m.argv[1:]]

    def send(self, d: Delivery) -> Outcome:
        env = {**os.environ, "XUNJIAN_IDEMPOTENCY_KEY": d.key, "XUNJIAN_EVENT": d.kind}
        try:
            p = subprocess.run(self.argv, input=json.dumps(document(d), ensure_ascii=False),
                               capture_output=True, text=True, timeout=self.timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(False, f"{self.name}: timed out after {self.timeout:g} s")
        except OSError as e:
            return Outcome(False, f"{self.name}: cannot run {self.argv[0]}: {e.strerror}")
        if p.returncode != 0:
            return Outcome(False, f"{self.name}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        ticket = None
        try:
            out = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
        except ValueError:
            out = None
        if isinstance(out, dict) and out.get("ticket_id"):
            ticket = Ticket(str(out["ticket_id"]), str(out.get("ticket_url") or ""))
        return Outcome(True, ticket=ticket)
