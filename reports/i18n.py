"""Words of the reports in zh-CN and en. Templates take every label from here."""

from __future__ import annotations

from typing import Any

LABELS: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "title": "故障处理报告",
        "case": "故障单号", "device": "设备", "check": "检查项", "level": "故障等级",
        "opened_level": "初始等级", "status": "状态", "fault_type": "故障类型",
        "began": "故障发生时间", "responded": "响应时间", "repaired": "修复时间", "closed": "关闭时间",
        "resolved_by": "修复确认", "recovery": "恢复历时", "paused": "暂停计时",
        "response_due": "响应时限", "repair_due": "修复时限", "sla": "服务时限",
        "response_sla": "响应是否达标", "repair_sla": "修复是否达标",
        "cause": "故障原因", "handling": "处理过程", "loss": "损失情况", "message": "故障现象",
        "level_history": "等级变化", "timeline": "处理记录", "at": "时间", "event": "事件",
        "actor": "操作人", "note": "说明", "policy": "服务策略", "assignee": "负责人", "tickets": "工单",
        "suppressed_by": "关联上级故障单", "parent": "上级设备故障单",
        "sign": "签字确认", "provider": "运维服务方", "customer": "用户方", "date": "日期",
        "generated": "生成时间", "system": "系统", "not_yet": "尚未恢复", "none": "无",
        "missed": "超时",
        "clock": {"response": "响应", "repair": "修复"},
        "levels": {1: "一级（重大）", 2: "二级（主要）", 3: "三级（次要）"},
        "states": {"open": "待响应", "acknowledged": "处理中", "resolved": "已修复", "closed": "已关闭"},
        "sla_state": {"met": "达标", "missed": "超时", "running": "计时中"},
        "events": {"open": "开单", "update": "更新", "escalate": "升级", "breach": "超时",
                   "ack": "响应", "assign": "指派", "note": "备注", "pause": "暂停", "resume": "恢复计时",
                   "resolve": "修复", "close": "关闭", "reopen": "重新打开", "suppress": "抑制"},
        "units": ("天", "小时", "分钟", "秒"),
    },
    "en": {
        "title": "Fault report",
        "case": "Case", "device": "Device", "check": "Check", "level": "Level",
        "opened_level": "Opened at level", "status": "Status", "fault_type": "Fault type",
        "began": "Began", "responded": "Responded", "repaired": "Repaired", "closed": "Closed",
        "resolved_by": "Repair confirmed by", "recovery": "Recovery took", "paused": "Clock paused",
        "response_due": "Response due", "repair_due": "Repair due", "sla": "Service levels",
        "response_sla": "Response", "repair_sla": "Repair",
        "cause": "Cause", "handling": "Handling", "loss": "Loss", "message": "Symptom",
        "level_history": "Level history", "timeline": "Timeline", "at": "At", "event": "Event",
        "actor": "By", "note": "Note", "policy": "SLA policy", "assignee": "Assignee", "tickets": "Tickets",
        "suppressed_by": "Under parent case", "parent": "parent case",
        "sign": "Sign-off", "provider": "Service provider", "customer": "Customer", "date": "Date",
        "generated": "Generated", "system": "system", "not_yet": "not recovered yet", "none": "none",
        "missed": "missed",
        "clock": {"response": "response", "repair": "repair"},
        "levels": {1: "Level 1 (major)", 2: "Level 2 (main)", 3: "Level 3 (minor)"},
        "states": {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved",
                   "closed": "closed"},
        "sla_state": {"met": "met", "missed": "MISSED", "running": "running"},
        "events": {"open": "opened", "update": "updated", "escalate": "escalated",
                   "breach": "deadline missed",
                   "ack": "acknowledged", "assign": "assigned", "note": "note", "pause": "paused",
                   "resume": "resumed", "resolve": "resolved", "close": "closed", "reopen": "reopened",
                   "suppress": "suppressed"},
        "units": ("d", "h", "min", "s"),
    },
}


def duration_text(seconds: float, lang: str) -> str:
    """3725 s → "1小时2分钟5秒" / "1 h 2 min 5 s"."""
    d, h, m, s = LABELS[lang]["units"]
    total = round(seconds)
    parts = []
    for size, unit in ((86400, d), (3600, h), (60, m), (1, s)):
        n, total = divmod(total, size)
        if n:
            parts.append((n, unit))
    if not parts:
        parts = [(0, s)]
    sep = "" if lang == "zh-CN" else " "
    return sep.join(f"{n}{sep}{u}" for n, u in parts)
