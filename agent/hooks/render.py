"""Message text from Jinja2 templates (agent/hooks/templates), zh-CN and en."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from agent.hooks.channels.base import Delivery

_env = Environment(loader=PackageLoader("agent.hooks", "templates"),
                   autoescape=select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True,
                   keep_trailing_newline=False, undefined=ChainableUndefined)

_inline = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=ChainableUndefined)

LEVELS = {"zh-CN": {1: "一级（重大）", 2: "二级（主要）", 3: "三级（次要）"},
          "en": {1: "L1 major", 2: "L2 main", 3: "L3 minor"}}
EVENTS = {
    "zh-CN": {"open": "新故障", "update": "故障更新", "breach": "超时", "escalate": "升级", "ack": "已响应",
              "assign": "已派单", "note": "备注", "pause": "挂起", "resume": "恢复计时", "resolve": "已恢复",
              "close": "已关闭", "reopen": "重新打开", "suppress": "已抑制",
              "link": "关联", "reminder": "即将超时", "milestone": "节点", "storm": "告警风暴",
              "test": "测试消息"},
    "en": {"open": "opened", "update": "updated", "breach": "deadline missed", "escalate": "escalated",
           "ack": "acknowledged", "assign": "assigned", "note": "note", "pause": "paused",
           "resume": "resumed", "resolve": "resolved", "close": "closed", "reopen": "reopened",
           "suppress": "suppressed", "link": "linked", "reminder": "deadline approaching",
           "milestone": "milestone",
           "storm": "alert storm", "test": "test message"},
}


def when(iso_or_ts: Any) -> str:
    if isinstance(iso_or_ts, int | float):
        return datetime.fromtimestamp(iso_or_ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(iso_or_ts or "")


def context(d: Delivery) -> dict[str, Any]:
    lang = d.lang if d.lang in LEVELS else "zh-CN"
    case = d.case
    return {"case": case, "event": d.payload["event"], "device": d.payload.get("device", {}),
            "recipients": d.payload.get("recipients", []), "kind": d.kind, "key": d.key,
            "lang": lang, "level_name": LEVELS[lang].get(case.get("level"), str(case.get("level"))),
            "event_name": EVENTS[lang].get(d.kind, d.kind), "ticket": d.ticket,
            "group": d.group, "storm": d.payload.get("storm") or {}, "when": when,
            "levels": LEVELS[lang]}


def render(name: str, d: Delivery) -> str:
    """Template `name` in the delivery's language: `message.md` → `message.zh-CN.md.j2`."""
    stem, _, ext = name.rpartition(".")
    ctx = context(d)
    return _env.get_template(f"{stem}.{ctx['lang']}.{ext}.j2").render(ctx).strip() + "\n"


def render_string(source: str, d: Delivery) -> str:
    return _inline.from_string(source).render(context(d))


def title(d: Delivery) -> str:
    """A one-line subject: [xunjian] F-… 新故障 一级（重大） db01 disk_used_percent /u01."""
    ctx = context(d)
    if d.kind == "storm":
        s = ctx["storm"]
        n = len(d.group)
        if ctx["lang"] == "en":
            return f"[xunjian] alert storm: {n} cases opened under {s.get('by')} {s.get('scope')}"
        where = "上联设备" if s.get("by") == "parent" else "站点"
        return f"[巡检] 告警风暴：{where} {s.get('scope')} 下 {n} 个故障单"
    c = d.case
    return (f"[{'xunjian' if ctx['lang'] == 'en' else '巡检'}] {c['number']} {ctx['event_name']} "
            f"{ctx['level_name']} {c['device']} {c['check']} {c['instance']}").strip()
