"""ServiceNow Table API: one incident per case, found by correlation_id (the case number) before
one is created; later events add work notes (PATCH); resolve/close set the resolved state."""

from __future__ import annotations

import urllib.parse
from typing import Any

from urllib3.exceptions import HTTPError

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome, Ticket
from agent.hooks.channels.http import Http, unreachable
from agent.hooks.settings import ChannelSettings


class ServiceNowChannel(ChannelBase):
    type = "servicenow"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.base = self.m.url.rstrip("/")
        self.table = f"{self.base}/api/now/table/{self.m.table}"
        self.http = Http(settings)

    def ticket(self, sys_id: str) -> Ticket:
        return Ticket(sys_id, f"{self.base}/nav_to.do?uri={self.m.table}.do?sys_id={sys_id}")

    def send(self, d: Delivery) -> Outcome:
        c = d.case
        try:
            sys_id = d.ticket.id if d.ticket else None
            if sys_id is None:
                q = urllib.parse.quote(f"correlation_id={c['number']}")
                r = self.http.request("GET", f"{self.table}?sysparm_query={q}&sysparm_limit=1"
                                      "&sysparm_fields=sys_id,number", headers={"Accept": "application/json"})
                if not r.ok:
                    return r.failure(f"{self.name} lookup")
                found = (r.json() or {}).get("result") or []
                sys_id = str(found[0]["sys_id"]) if found else None
            if sys_id is None:
                level = str(c["level"])
                doc: dict[str, Any] = {"short_description": render.title(d)[:160],
                                       "description": render.render("message.md", d),
                                       "correlation_id": c["number"], "impact": level, "urgency": level}
                for k in ("caller_id", "assignment_group"):
                    if getattr(self.m, k):
                        doc[k] = getattr(self.m, k)
                r = self.http.json("POST", self.table, doc)
                if not r.ok:
                    return r.failure(f"{self.name} create")
                return Outcome(True, ticket=self.ticket(str((r.json() or {})["result"]["sys_id"])))
            if d.kind == "open":
                return Outcome(True, ticket=self.ticket(sys_id))
            patch: dict[str, Any] = {"work_notes": f"{render.render('message.md', d)}\n[{d.key}]"}
            if d.kind in ("resolve", "close"):
                patch.update(state=self.m.resolved_state, close_code=self.m.close_code,
                             close_notes=c.get("handling") or c.get("message") or d.kind)
            r = self.http.json("PATCH", f"{self.table}/{sys_id}", patch)
            if not r.ok:
                return r.failure(f"{self.name} update")
            return Outcome(True, ticket=self.ticket(sys_id))
        except HTTPError as e:
            return unreachable(self.name, e)
