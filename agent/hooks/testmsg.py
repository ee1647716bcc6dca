"""The message `xunjian hooks test CHANNEL` sends: a made-up case, clearly marked as a test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.hooks.channels.base import Delivery


def test_delivery(lang: str, now: float) -> Delivery:
    stamp = datetime.fromtimestamp(now).strftime("%Y%m%d%H%M%S")
    iso = datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds")
    message = "巡检告警通道测试，请忽略" if lang == "zh-CN" else "xunjian hook test: please ignore"
    case: dict[str, Any] = {
        "number": f"TEST-{stamp}", "device": "xunjian", "check": "hooks.test", "instance": "", "level": 3,
        "opened_level": 3, "status": "open", "severity": "warn", "opened_at": iso, "updated_at": iso,
        "policy": "default", "response_due": None, "repair_due": None, "message": message,
        "threshold": "", "resolved_at": None, "closed_at": None, "handling": "", "suppressed_by": None}
    event = {"seq": 1, "at": now, "kind": "test", "actor": "xunjian", "detail": {"message": message}}
    return Delivery(key=f"TEST-{stamp}#1", kind="test",
                    payload={"case": case, "event": event, "device": {"name": "xunjian"},
                             "recipients": [], "route": "test", "storm": None}, lang=lang)
