"""An Alertmanager-compatible webhook payload (version 4), for receivers written for Alertmanager."""

from __future__ import annotations

import hashlib
from typing import Any

from urllib3.exceptions import HTTPError

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome
from agent.hooks.channels.http import Http, unreachable
from agent.hooks.settings import ChannelSettings

ZERO = "0001-01-01T00:00:00Z"


def _alert(p: dict[str, Any], resolved: bool) -> dict[str, Any]:
    c = p["case"]
    labels = {"alertname": c["check"], "device": c["device"], "instance": c["instance"] or c["device"],
              "severity": c["severity"], "level": str(c["level"]), "case": c["number"]}
    site = (p.get("device") or {}).get("site")
    if site:
        labels["site"] = site
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": {"summary": c["message"], "threshold": c["threshold"]},
        "startsAt": c["opened_at"] or ZERO,
        "endsAt": (c["resolved_at"] or c["closed_at"] or ZERO) if resolved else ZERO,
        "generatorURL": "",
        "fingerprint": hashlib.sha256(f"{c['device']}/{c['check']}/{c['instance']}".encode())
        .hexdigest()[:16],
    }


def payload(d: Delivery, receiver: str, external_url: str) -> dict[str, Any]:
    resolved = d.kind in ("resolve", "close")
    members = d.group or [d.payload]
    alerts = [_alert(p, resolved) for p in members]
    common = {k: v for k, v in alerts[0]["labels"].items()
              if all(a["labels"].get(k) == v for a in alerts)}
    return {"version": "4", "groupKey": d.key, "truncatedAlerts": 0, "receiver": receiver,
            "status": "resolved" if resolved else "firing", "groupLabels": {"case": d.case["number"]}
            if not d.group else {"storm": str((d.payload.get("storm") or {}).get("scope"))},
            "commonLabels": common, "commonAnnotations": {"summary": render.title(d)},
            "externalURL": external_url, "alerts": alerts}


class AlertmanagerChannel(ChannelBase):
    type = "alertmanager"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.http = Http(settings)

    def send(self, d: Delivery) -> Outcome:
        try:
            r = self.http.json("POST", self.m.url, payload(d, self.m.receiver, self.m.external_url),
                               {**self.m.headers, "Idempotency-Key": d.key})
        except HTTPError as e:
            return unreachable(self.name, e)
        return Outcome(True) if r.ok else r.failure(self.name)
