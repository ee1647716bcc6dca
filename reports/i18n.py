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
        "ledger": {
            "title": "日常巡检记录", "period": "日期", "run": "巡检编号", "started": "开始时间",
            "finished": "结束时间", "by": "巡检人", "trigger": "方式", "devices": "设备数",
            "checks": "检查项数", "device": "设备", "check": "检查项", "verdict": "结论", "value": "数值",
            "threshold": "阈值", "message": "说明", "collected": "采集时间", "rule_version": "规则版本",
            "evidence": "依据", "exceptions": "异常项", "actions": "处理情况", "no_runs": "本期无巡检记录",
            "no_exceptions": "无异常", "sheet_runs": "巡检记录", "sheet_results": "检查明细",
            "summary": "汇总", "scope": "范围", "all_devices": "全部设备", "groups": "组", "devices_in_scope": "设备",
            "triggers": {"cli": "人工", "schedule": "定时"},
            "verdicts": {"pass": "正常", "warn": "告警", "fail": "故障", "not collected": "未采集"},
        },
        "monthly": {
            "title": "月度服务报告", "month": "月份", "cases": "故障单数", "handled": "已处理",
            "handling_rate": "处理率", "per_level": "分级统计", "level": "等级", "closed": "已关闭",
            "response_on_time": "响应及时率", "repair_on_time": "修复及时率", "breaches": "超时故障单",
            "top_devices": "故障最多的设备", "top_checks": "故障最多的检查项", "count": "次数",
            "inspections": "巡检完成情况", "runs": "巡检次数", "working_days": "工作日",
            "days_inspected": "已巡检工作日", "missed_days": "未巡检的工作日", "calendar": "工作日历",
            "none": "无",
        },
        "periodic": {
            "title": "定期巡检报告", "customer": "用户单位", "contractor": "运维单位", "system": "系统名称",
            "period": "巡检周期", "number": "报告编号", "version": "版本", "summary": "巡检概况",
            "devices_by_kind": "设备数量（按类型）", "kind": "类型", "count": "数量", "this_period": "本期",
            "previous_period": "上期", "runs": "巡检次数", "checks": "检查项次", "pass_rate": "通过率",
            "cases": "故障单", "response_on_time": "响应及时率", "repair_on_time": "修复及时率",
            "matrix": "设备检查结果", "device": "设备", "check": "检查项", "last": "最近结论",
            "counts": "正常/告警/故障/未采集", "value": "数值", "threshold": "阈值", "evidence": "依据",
            "trends": "趋势", "growth": "容量增长与预测", "series": "对象", "last_value": "当前",
            "peak": "峰值", "per_day": "日增长", "until_full": "预计写满（天）", "peaks": "资源峰值",
            "metric": "指标", "peak_day": "峰值日期", "average": "平均", "fault_cases": "故障处理情况",
            "recommendations": "建议",
            "full_soon": "{device} 的 {subject} 预计 {days} 天内写满（日增长 {growth}），建议扩容或清理。",
            "often_failing": "{device} 的 {subject} 本期 {of} 次检查中 {count} 次故障或未采集，建议排查。",
            "no_recommendations": "本期无建议事项。", "sign": "签字确认", "provider": "运维服务方（签字/盖章）",
            "customer_sign": "用户方（签字/盖章）", "date": "日期", "never": "—", "assets": "资产清单",
            "no_data": "本期无数据", "exceptions": "异常项（最近结论非正常）",
            "asset_changes": "资产变更", "model": "型号", "serial": "序列号", "firmware": "固件版本",
            "software": "软件版本", "hardware": "硬件版本",
            "remediations": "处置记录", "at": "时间", "playbook": "处置剧本", "actor": "执行人",
            "result": "结果", "freed": "释放空间（字节）",
            "no_exceptions": "本期最近一次巡检全部正常。", "more": "另有 {n} 行，见 XLSX 附表。",
            "legend": ". 正常　! 告警　X 故障　? 未采集　· 无此项（各检查项最近一次结论，多个对象取最差；列号见表下）",
        },
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
        "ledger": {
            "title": "Daily inspection ledger", "period": "Period", "run": "Run", "started": "Started",
            "finished": "Finished", "by": "By", "trigger": "Trigger", "devices": "Devices",
            "checks": "Checks", "device": "Device", "check": "Check", "verdict": "Verdict",
            "value": "Value", "threshold": "Threshold", "message": "Message", "collected": "Collected",
            "rule_version": "Rule version", "evidence": "Evidence", "exceptions": "Exceptions",
            "actions": "What was done", "no_runs": "No inspection recorded in this period",
            "no_exceptions": "no exceptions", "sheet_runs": "Runs", "sheet_results": "Results",
            "summary": "Summary", "scope": "Scope", "all_devices": "all devices", "groups": "groups", "devices_in_scope": "devices",
            "triggers": {"cli": "by hand", "schedule": "scheduled"},
            "verdicts": {"pass": "pass", "warn": "warn", "fail": "fail", "not collected": "not collected"},
        },
        "monthly": {
            "title": "Monthly service summary", "month": "Month", "cases": "Cases", "handled": "Handled",
            "handling_rate": "Handling rate", "per_level": "By level", "level": "Level", "closed": "Closed",
            "response_on_time": "Response on time", "repair_on_time": "Repair on time",
            "breaches": "Cases that missed a deadline", "top_devices": "Devices with most cases",
            "top_checks": "Checks with most cases", "count": "Cases", "inspections": "Inspections",
            "runs": "Runs", "working_days": "Working days", "days_inspected": "Working days inspected",
            "missed_days": "Working days without inspection", "calendar": "Calendar", "none": "none",
        },
        "periodic": {
            "title": "Periodic inspection report", "customer": "Customer", "contractor": "Contractor",
            "system": "System", "period": "Period", "number": "Report number", "version": "Version",
            "summary": "Summary", "devices_by_kind": "Devices by kind", "kind": "Kind", "count": "Count",
            "this_period": "This period", "previous_period": "Previous period", "runs": "Inspection runs",
            "checks": "Checks", "pass_rate": "Pass rate", "cases": "Fault cases",
            "response_on_time": "Response on time", "repair_on_time": "Repair on time",
            "matrix": "Check results per device", "device": "Device", "check": "Check", "last": "Latest",
            "counts": "pass/warn/fail/not collected", "value": "Value", "threshold": "Threshold",
            "evidence": "Evidence", "trends": "Trends", "growth": "Capacity growth and projection",
            "series": "Object", "last_value": "Now", "peak": "Peak", "per_day": "Per day",
            "until_full": "Full in (days)", "peaks": "Resource peaks", "metric": "Metric",
            "peak_day": "Peak day", "average": "Average", "fault_cases": "Fault cases",
            "recommendations": "Recommendations",
            "full_soon": "{subject} on {device} will be full in about {days} days (growing {growth} per day): "
                         "extend or clean up.",
            "often_failing": "{subject} on {device} failed or was not collected {count} times out of {of}: "
                             "investigate.",
            "no_recommendations": "No recommendation for this period.", "sign": "Sign-off",
            "provider": "Service provider (signature, seal)", "customer_sign": "Customer (signature, seal)",
            "date": "Date", "never": "—", "assets": "Asset register", "no_data": "no data in this period",
            "exceptions": "Exceptions (latest verdict not a pass)",
            "asset_changes": "Asset changes", "model": "Model", "serial": "Serial", "firmware": "Firmware",
            "software": "Software", "hardware": "Hardware",
            "remediations": "Remediations", "at": "At", "playbook": "Playbook", "actor": "By",
            "result": "Result", "freed": "Bytes freed",
            "no_exceptions": "Everything passed at the latest inspection.",
            "more": "{n} more rows in the XLSX annex.",
            "legend": ". pass  ! warn  X fail  ? not collected  · not checked (latest verdict per check, worst over its objects; column numbers below)",
        },
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
