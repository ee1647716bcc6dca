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
        "calendar_gap": "注意：日历 {calendar} 缺少 {year} 年国务院节假日安排，{year} 年的 SLA 时限只按元旦、"
                        "劳动节、国庆节放假计算（春节等农历节日及调休上班日未计入），相关时限可能偏早。",
        "missed": "超时",
        "clock": {"response": "响应", "repair": "修复", "arrival": "到场", "diagnosis": "诊断报告",
                  "workaround": "临时方案", "fault_report": "故障报告提交"},
        "levels": {1: "一级（重大）", 2: "二级（主要）", 3: "三级（次要）", 4: "四级", 5: "五级"},
        "states": {"open": "待响应", "acknowledged": "处理中", "resolved": "已修复", "closed": "已关闭"},
        "sla_state": {"met": "达标", "missed": "超时", "running": "计时中", "superseded": "已由升级后时限取代"},
        "reported_by": "报告人", "reported_at": "申告时间", "entered": "登记于", "affected": "涉及设备/业务",
        "channels": {"phone": "电话", "mail": "邮件", "web": "网页", "onsite": "现场", "other": "其他"},
        "deadlines": "合同时限（全部）", "clock_name": "时限", "clock_start": "起算时间", "due": "截止时间",
        "events": {"open": "开单", "update": "更新", "escalate": "升级", "breach": "超时",
                   "ack": "响应", "assign": "指派", "note": "备注", "pause": "暂停", "resume": "恢复计时",
                   "resolve": "修复", "close": "关闭", "reopen": "重新打开", "suppress": "抑制",
                   "link": "关联", "reminder": "即将超时提醒", "remediation": "自动处置", "milestone": "节点"},
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
            "remediations": "处置记录", "remediation_count": "处置次数", "playbook": "处置剧本",
            "runs_of": "执行次数", "outcomes": "结果", "freed": "释放空间", "what": "处置内容", "at": "时间",
            "actor": "执行人", "no_remediations": "本月无处置记录",
            "results": {"ok": "成功", "failed": "失败", "aborted": "中止", "refused": "被拒绝", "busy": "设备忙"},
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
            "legend": "各检查项最近一次结论，多个对象取最差；列号见表下。",
            "no_check": "该设备无此检查项",
            "changes": "与上期相比的变化", "changes_new": "新增异常（本期异常，上期末正常或未检查）",
            "changes_cleared": "已消除异常（上期末异常，本期正常）", "not_checked": "未检查", "none": "无",
            "changes_counts": "新增异常 {new} 项，消除异常 {cleared} 项，资产变更 {assets} 项。",
            "prev_peak": "上期峰值", "change": "较上期末", "ports": "端口错包", "port": "端口",
            "port_errors": "本期错包/丢包", "prev_errors": "上期", "last_30": "前30天 → 近30天",
            "rising": "上升", "cpu_peaks": "CPU 峰值（本期/上期）", "memory_peaks": "内存峰值（本期/上期）",
            "before_after": "处置前 → 处置后", "before_30": "此前30天", "recent_30": "近30天",
            "new_short": "新增", "cleared_short": "消除", "changes_sheet": "与上期相比",
            "port_rising": "{device} 的端口 {subject} 错包/丢包上升（近30天 {recent}，此前30天 {before}），建议检查线缆、光模块和对端。",
            "version_drift": "同型号 {model}（{group}）设备的 {subject} 不一致：{device} 为 {old}，最新为 {newest}，建议统一升级到 {newest}。",
            "asset_kind": "类型", "asset_model": "型号", "asset_serial": "序列号", "asset_hardware_rev": "硬件版本",
            "asset_firmware_rev": "固件版本", "asset_software_rev": "软件版本",
            "backups": "备份检查", "backup": "备份", "backup_age": "距最近备份（小时）",
            "backup_change": "较上次大小（%）", "backup_notes": "说明",
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
        "calendar_gap": "Note: calendar {calendar} has no official holiday arrangement for {year}; SLA limits in "
                        "{year} count only New Year's Day, Labour Day and National Day as holidays (not the "
                        "Spring Festival or the other lunar holidays, nor make-up working days), so some may "
                        "fall too early.",
        "missed": "missed",
        "clock": {"response": "response", "repair": "repair", "arrival": "arrival on site",
                  "diagnosis": "diagnosis report", "workaround": "workaround", "fault_report": "fault report"},
        "levels": {1: "Level 1 (major)", 2: "Level 2 (main)", 3: "Level 3 (minor)", 4: "Level 4", 5: "Level 5"},
        "states": {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved",
                   "closed": "closed"},
        "sla_state": {"met": "met", "missed": "MISSED", "running": "running",
                      "superseded": "replaced by the next level's"},
        "reported_by": "Reported by", "reported_at": "Reported at", "entered": "entered", "affected": "Affected",
        "channels": {"phone": "phone", "mail": "mail", "web": "web", "onsite": "on site", "other": "other"},
        "deadlines": "Every contractual deadline", "clock_name": "Clock", "clock_start": "Counted from",
        "due": "Due",
        "events": {"open": "opened", "update": "updated", "escalate": "escalated",
                   "breach": "deadline missed",
                   "ack": "acknowledged", "assign": "assigned", "note": "note", "pause": "paused",
                   "resume": "resumed", "resolve": "resolved", "close": "closed", "reopen": "reopened",
                   "suppress": "suppressed", "link": "linked", "reminder": "deadline reminder",
                   "remediation": "remediation", "milestone": "milestone"},
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
            "remediations": "Remediations", "remediation_count": "Playbooks applied", "playbook": "Playbook",
            "runs_of": "Runs", "outcomes": "Outcome", "freed": "Freed", "what": "What was done", "at": "At",
            "actor": "By", "no_remediations": "No remediation this month",
            "results": {"ok": "ok", "failed": "failed", "aborted": "aborted", "refused": "refused", "busy": "busy"},
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
            "legend": "The latest verdict per check, the worst over its objects; column numbers below.",
            "no_check": "no such check on this device",
            "changes": "What changed since the last period",
            "changes_new": "New exceptions (not a pass now; a pass or not checked at the end of the last period)",
            "changes_cleared": "Cleared exceptions (not a pass at the end of the last period; a pass now)",
            "not_checked": "not checked", "none": "none",
            "changes_counts": "{new} new exceptions, {cleared} cleared, {assets} asset changes.",
            "prev_peak": "Prev. peak", "change": "Since prev.", "ports": "Port errors", "port": "Port",
            "port_errors": "Errors+discards", "prev_errors": "Prev. period", "last_30": "30 days before → last 30",
            "rising": "Rising", "cpu_peaks": "CPU peaks (this / previous period)",
            "memory_peaks": "Memory peaks (this / previous period)", "before_after": "Before → after",
            "before_30": "30 days before", "recent_30": "Last 30 days", "new_short": "new", "cleared_short": "cleared",
            "changes_sheet": "Changes",
            "port_rising": "Errors and discards on port {subject} of {device} are rising ({before} in the 30 days before, {recent} in the last 30): check the cable, optics and the far end.",
            "version_drift": "{subject} differs across {group} devices of model {model}: {device} run {old}, the newest is {newest}: align them to {newest}.",
            "asset_kind": "Kind", "asset_model": "Model", "asset_serial": "Serial", "asset_hardware_rev": "Hardware",
            "asset_firmware_rev": "Firmware", "asset_software_rev": "Software",
            "backups": "Backup checks", "backup": "Backup", "backup_age": "Hours since",
            "backup_change": "Size change (%)", "backup_notes": "Notes",
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


def labels_for(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """The report's words, with level names from the case's level scheme when the data carries
    them (`level_names`: lang → level as text → name)."""
    t = LABELS[lang]
    names = (data.get("level_names") or {}).get(lang)
    if not names:
        return t
    return {**t, "levels": {**t["levels"], **{int(k): v for k, v in names.items()}}}
