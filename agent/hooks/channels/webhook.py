"""Webhook: any HTTP receiver. The body is the built-in JSON document or a Jinja2 template."""

from __future__ import annotations

import json
from typing import Any

from urllib3.exceptions import HTTPError

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome, Ticket
from agent.hooks.channels.http import Http, dig, unreachable
from agent.hooks.settings import ChannelSettings


def document(d: Delivery) -> dict[str, Any]:
    """The default body: the event, the case, the device, and for a storm every case."""
    doc: dict[str, Any] = {"version": 1, "idempotency_key": d.key, "kind": d.kind,
                           "title": render.title(d), **{k: d.payload.get(k) for k in
                                                         ("case", "event", "device", "recipients",
                                                          "route")}}
    if d.ticket:
        doc["ticket"] = {"id": d.ticket.id, "url": d.ticket.url}
    if d.kind == "storm":
        doc["storm"] = d.payload.get("storm")
        doc["cases"] = [g["case"] for g in d.group]
    return doc


class WebhookChannel(ChannelBase):
    type = "webhook"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.http = Http(settings)
        path = settings.path(self.m.template_file)
        self.template = path.read_text(encoding="utf-8") if path else self.m.template

    def body(self, d: Delivery) -> bytes:
        if self.template is None:
            return json.dumps(document(d), ensure_ascii=False).encode()
        return render.render_string(self.template, d).encode()

    def send(self, d: Delivery) -> Outcome:
        headers = {"Content-Type": "application/json", **self.m.headers,
                   "Idempotency-Key": d.key, "X-Xunjian-Event": d.kind, "X-Xunjian-Case": d.case["number"]}
        try:
            r = self.http.request(self.m.method, self.m.url, self.body(d), headers)
        except HTTPError as e:
            return unreachable(self.name, e)
        if not r.ok:
            return r.failure(self.name)
        ticket = None
        if self.m.ticket_id:
            doc = r.json()
            tid = dig(doc, self.m.ticket_id)
            if tid is not None:
                url = dig(doc, self.m.ticket_url) if self.m.ticket_url else ""
                ticket = Ticket(str(tid), str(url or ""))
        return Outcome(True, ticket=ticket)
