"""Jira (REST API v2): one issue per case, found by its label before one is created.

open → look up `labels = <prefix><case number>`, create if none (so a retry never makes a
second issue); later events → a comment (skipped if a comment already holds the event's
idempotency key); resolve/close → the configured transition (its id looked up by name,
as ids differ per workflow); reopen → `reopen_transition` if set.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from urllib3.exceptions import HTTPError

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome, Ticket
from agent.hooks.channels.http import Http, unreachable
from agent.hooks.settings import ChannelSettings


class JiraChannel(ChannelBase):
    type = "jira"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.base = self.m.url.rstrip("/")
        self.http = Http(settings)

    def label(self, number: str) -> str:
        return f"{self.m.label_prefix}{number}"

    def ticket(self, key: str) -> Ticket:
        return Ticket(key, f"{self.base}/browse/{key}")

    def find(self, number: str) -> str | None:
        jql = urllib.parse.quote(f'labels = "{self.label(number)}"')
        r = self.http.request("GET", f"{self.base}/rest/api/2/search?jql={jql}&fields=key&maxResults=1",
                              headers={"Accept": "application/json"})
        if not r.ok:
            raise _Fail(r.failure(f"{self.name} search"))
        issues = (r.json() or {}).get("issues") or []
        return str(issues[0]["key"]) if issues else None

    def create(self, d: Delivery) -> str:
        c = d.case
        fields: dict[str, Any] = {
            "project": {"key": self.m.project}, "issuetype": {"name": self.m.issue_type},
            "summary": render.title(d)[:250], "description": render.render("message.md", d),
            "labels": [self.label(c["number"]), "xunjian"]}
        r = self.http.json("POST", f"{self.base}/rest/api/2/issue", {"fields": fields})
        if not r.ok:
            raise _Fail(r.failure(f"{self.name} create"))
        return str((r.json() or {})["key"])

    def comment(self, key: str, d: Delivery) -> None:
        url = f"{self.base}/rest/api/2/issue/{key}/comment"
        r = self.http.request("GET", url, headers={"Accept": "application/json"})
        if r.ok and any(d.key in str(cm.get("body", "")) for cm in (r.json() or {}).get("comments", [])):
            return  # this event was commented before (a retry after a lost answer)
        r = self.http.json("POST", url, {"body": f"{render.render('message.md', d)}\n[{d.key}]"})
        if not r.ok:
            raise _Fail(r.failure(f"{self.name} comment"))

    def transition(self, key: str, name: str, d: Delivery) -> bool:
        url = f"{self.base}/rest/api/2/issue/{key}/transitions"
        r = self.http.request("GET", url, headers={"Accept": "application/json"})
        if not r.ok:
            raise _Fail(r.failure(f"{self.name} transitions"))
        ids = [t["id"] for t in (r.json() or {}).get("transitions", [])
               if str(t.get("name", "")).lower() == name.lower()]
        if not ids:
            return False  # not available from the issue's status (e.g. already done)
        body = {"transition": {"id": ids[0]},
                "update": {"comment": [{"add": {"body": f"{render.render('message.md', d)}\n[{d.key}]"}}]}}
        r = self.http.json("POST", url, body)
        if not r.ok:
            raise _Fail(r.failure(f"{self.name} transition"))
        return True

    def send(self, d: Delivery) -> Outcome:
        try:
            key = d.ticket.id if d.ticket else self.find(d.case["number"])
            if key is None:
                return Outcome(True, ticket=self.ticket(self.create(d)))
            if d.kind in ("resolve", "close"):
                done = self.transition(key, self.m.resolve_transition, d)
            elif d.kind == "reopen" and self.m.reopen_transition:
                done = self.transition(key, self.m.reopen_transition, d)
            else:
                done = d.kind == "open"  # found by its label: made before, nothing more to do
            if not done:
                self.comment(key, d)
            return Outcome(True, ticket=self.ticket(key))
        except _Fail as f:
            return f.outcome
        except HTTPError as e:
            return unreachable(self.name, e)


class _Fail(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome
