"""Ready-made pattern sets for the logs collector: (name, regex, severity).

Severity `crit` or `warn` decides which rule judges the count (log_matches_crit /
log_matches_warn); `info` is only counted.
"""

from __future__ import annotations

PATTERN_SETS: dict[str, list[tuple[str, str, str]]] = {
    # Oracle alert_<SID>.log
    "oracle_alert": [
        ("ora_internal", r"\bORA-(?:00600|07445|04031)\b", "crit"),
        ("ora_space", r"\bORA-(?:01652|01653|01654|01688|01691|30036|19809|19815)\b", "crit"),
        ("ora_error", r"\bORA-\d{5}\b", "warn"),
    ],
    # WebLogic server logs (<server>.log) and stdout (.out): severity is the second <…> field.
    "weblogic": [
        ("bea_critical", r"<(?:Critical|Alert|Emergency)>.*?<BEA-\d{6}>", "crit"),
        ("bea_error", r"<Error>.*?<BEA-\d{6}>", "warn"),
        ("out_of_memory", r"java\.lang\.OutOfMemoryError", "crit"),
        ("stuck_thread", r"<BEA-000337>", "crit"),
    ],
    # /var/log/messages, /var/log/syslog, kern.log
    "syslog": [
        ("io_error", r"(?:Buffer )?I/O error|blk_update_request: .*error|critical medium error", "crit"),
        ("oom_killer", r"invoked oom-killer|Out of memory: Kill(?:ed)? process|oom-kill:", "crit"),
        ("fs_readonly", r"[Rr]emounting filesystem read-only|remounted read-only|"
                        r"EXT[234]-fs error|XFS \(\S+\): .*(?:Corruption|Shutting down)", "crit"),
    ],
}

# The first line of an entry, per set: the lines after it that do not match belong to it (the
# SQL printed after ORA-01555, the lines under an ORA-00600, a stack trace after a WebLogic
# message). None: every line is an entry unless indented (syslog).
ENTRY_STARTS: dict[str, str | None] = {
    # 11g `Mon Dec 07 10:00:00 2026`; 12.2+ `2026-12-07T10:00:00.123456+08:00`
    "oracle_alert": r"^(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}|"
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?)\s*$",
    # server log `####<Nov 22, 2026 …>`; stdout `<Nov 22, 2026 9:00:01 AM CST> <Error> …` (any
    # locale's date: a stack trace's lines never begin with '<')
    "weblogic": r"^(?:####)?<\S",
    "syslog": None,
}
