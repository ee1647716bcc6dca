"""The periodic inspection report (定期巡检报告) as DOCX, for signing: the same model and the
same sections as the HTML/PDF, charts embedded as images, long tables capped as in the PDF
(everything is in the XLSX annex)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from docx.shared import Cm

from reports.docx import (
    calendar_notes,
    cover,
    cover_rows,
    mono,
    new_document,
    sign_off,
    table,
    to_bytes,
)
from reports.docx_monthly import rate
from reports.i18n import LABELS
from reports.periodic import (
    NO_CHECK,
    SHOWN,
    SYMBOLS,
    advice,
    asset_label,
    growth_row,
    matrix_text,
    peak_row,
    port_row,
    remediation_change,
    summary_charts,
)
from reports.periodic_backups import backup_row


def _more(doc: Any, rows: list[Any], p: dict[str, str]) -> None:
    if len(rows) > SHOWN:
        doc.add_paragraph(p["more"].format(n=len(rows) - SHOWN))


def periodic_docx(data: dict[str, Any], lang: str) -> bytes:
    from reports.charts import chart_for

    t = LABELS[lang]
    p, verdicts = t["periodic"], t["ledger"]["verdicts"]
    period = f"{data['period']['from']} … {data['period']['to']}"
    c = data["cover"]
    title = f"{c.get('system') or ''} {p['title']}".strip()
    doc = new_document(data, lang, f"{title} {period}")
    cover(doc, title, cover_rows(c, period, p))
    calendar_notes(doc, data, t)

    s, prev, pp = data["summary"], data["previous"], data["previous_period"]
    doc.add_heading(f"1 {p['summary']}", level=1)
    table(doc, [p["kind"], p["count"]], [[k, n] for k, n in data["devices_by_kind"].items()])
    doc.add_paragraph()

    def levels(x: dict[str, Any]) -> str:
        return f"{x['cases']} ({'/'.join(str(x['cases_by_level'][lv]) for lv in ('1', '2', '3'))})"

    table(doc, ["", p["this_period"], f"{p['previous_period']} ({pp['from']} … {pp['to']})"], [
        [p["runs"], s["runs"], prev["runs"]], [p["checks"], s["checks"], prev["checks"]],
        [p["pass_rate"], rate(s["pass_rate"]), rate(prev["pass_rate"])],
        [f"{p['cases']} (L1/L2/L3)", levels(s), levels(prev)],
        [p["response_on_time"], rate(s["response_on_time"]), rate(prev["response_on_time"])],
        [p["repair_on_time"], rate(s["repair_on_time"]), rate(prev["repair_on_time"])],
        [p["asset_changes"], s["asset_changes"], prev["asset_changes"]]])
    doc.add_heading(p["changes"], level=2)
    changes = data["changes"]
    doc.add_paragraph(p["changes_counts"].format(new=len(changes["new"]), cleared=len(changes["cleared"]),
                                                 assets=s["asset_changes"]))
    for part in ("new", "cleared"):
        doc.add_heading(p[f"changes_{part}"], level=3)
        if changes[part]:
            table(doc, [p["device"], p["check"], p["previous_period"], p["this_period"]],
                  [[x["device"], x["check"], verdicts[x["then"]] if x["then"] else p["not_checked"],
                    verdicts[x["now"]]] for x in changes[part][:SHOWN]], 8)
            _more(doc, changes[part], p)
        else:
            doc.add_paragraph(p["none"])
    doc.add_heading(p["assets"], level=2)
    if data["assets"]:
        keys = data["asset_columns"]
        table(doc, [p["device"], *[asset_label(p, k) for k in keys]],
              [[a["device"], *["" if a.get(k) is None else str(a[k]) for k in keys]]
               for a in data["assets"][:SHOWN]], 7)
        _more(doc, data["assets"], p)
    else:
        doc.add_paragraph(p["no_data"])
    doc.add_heading(p["asset_changes"], level=2)
    if data["asset_changes"]:
        table(doc, [p["at"], p["device"], "", "", ""],
              [[x["at"], x["device"], x["field"], x["old"] or "—", x["new"] or "—"]
               for x in data["asset_changes"][:SHOWN]], 8)
        _more(doc, data["asset_changes"], p)
    else:
        doc.add_paragraph(p["no_data"])

    doc.add_heading(f"2 {p['matrix']}", level=1)
    doc.add_paragraph("  ".join(f"{g} {verdicts[v]}" for v, g in SYMBOLS.items())
                      + f"  {NO_CHECK} {p['no_check']}. {p['legend']}")
    for kind, cols in data["columns"].items():
        doc.add_heading(kind or "—", level=2)
        mono(doc, matrix_text(data, kind, cols))
        doc.add_paragraph("; ".join(f"{i} = {col}" for i, col in enumerate(cols, 1)))
    silent = [d["name"] for d in data["devices"] if d["name"] not in data["grid"]]
    if silent:
        doc.add_paragraph(f"{p['no_data']}: {', '.join(silent)}")
    doc.add_heading(p["exceptions"], level=2)
    if data["exceptions"]:
        table(doc, [p["device"], p["check"], p["last"], p["counts"], p["value"], p["threshold"],
                    p["evidence"]],
              [[x["device"], x["check"], f"{verdicts[x['last']]} ({x['at']})",
                "/".join(str(x["counts"][v]) for v in ("pass", "warn", "fail", "not collected")),
                "" if x["value"] is None else f"{x['value']:g}{x['unit'] or ''}", x["threshold"],
                (x["evidence"] or "")[:200]] for x in data["exceptions"][:SHOWN]], 7)
        _more(doc, data["exceptions"], p)
    else:
        doc.add_paragraph(p["no_exceptions"])
    if data.get("backups"):
        doc.add_heading(p["backups"], level=2)
        table(doc, [p["device"], p["backup"], p["last"], p["backup_age"], p["backup_change"],
                    p["backup_notes"]],
              [backup_row(r, verdicts) for r in data["backups"][:SHOWN]], 7)
        _more(doc, data["backups"], p)

    doc.add_heading(f"3 {p['trends']}", level=1)
    doc.add_heading(p["growth"], level=2)
    by_label = {g["label"]: g for g in data["growth"]}
    for label in data["charts"]:
        doc.add_picture(BytesIO(chart_for(by_label[label], lang)), width=Cm(16.5))
    if data["growth"]:
        table(doc, [p["device"], p["series"], p["last_value"], p["peak"], p["per_day"], p["until_full"],
                    p["prev_peak"], p["change"]],
              [["—" if c is None else c for c in growth_row(g)] for g in data["growth"][:SHOWN]], 8)
        _more(doc, data["growth"], p)
    else:
        doc.add_paragraph(p["no_data"])
    bars = dict(summary_charts(data, lang))
    doc.add_heading(p["peaks"], level=2)
    for title in (p["cpu_peaks"], p["memory_peaks"]):
        if title in bars:
            doc.add_picture(BytesIO(bars[title]), width=Cm(16.5))
    if data["peaks"]:
        table(doc, [p["device"], p["metric"], p["peak"], p["peak_day"], p["average"], p["prev_peak"]],
              [peak_row(k) for k in data["peaks"][:SHOWN]], 8)
        _more(doc, data["peaks"], p)
    else:
        doc.add_paragraph(p["no_data"])
    doc.add_heading(p["ports"], level=2)
    if p["ports"] in bars:
        doc.add_picture(BytesIO(bars[p["ports"]]), width=Cm(16.5))
    if data["ports"]:
        table(doc, [p["device"], p["port"], p["port_errors"], p["prev_errors"], p["last_30"], p["rising"]],
              [port_row(x) for x in data["ports"][:SHOWN]], 8)
        _more(doc, data["ports"], p)
    else:
        doc.add_paragraph(p["no_data"])

    doc.add_heading(f"4 {p['fault_cases']}", level=1)
    if data["cases"]:
        table(doc, [t["case"], t["device"], t["check"], t["level"], t["began"], t["responded"], t["repaired"],
                    t["response_sla"], t["repair_sla"], f"{t['cause']} / {t['handling']}"],
              [[x["number"], x["device"], x["check"], t["levels"][x["opened_level"]]
                + ("" if x["level"] == x["opened_level"] else f" → {t['levels'][x['level']]}"),
                x["opened"], x["responded"], x["repaired"], t["sla_state"][x["response_sla"]],
                t["sla_state"][x["repair_sla"]],
                (x["cause"] or "") + (f" / {x['handling']}" if x["handling"] else "")]
               for x in data["cases"]], 7)
    else:
        doc.add_paragraph(p["no_data"])
    doc.add_heading(p["remediations"], level=2)
    if data["remediations"]:
        table(doc, [p["at"], p["device"], p["playbook"], p["actor"], p["result"], p["freed"], t["case"],
                    p["before_after"]],
              [[r["at"], r["device"], r["playbook"], r["actor"], r["result"], r["bytes_freed"], r["case"],
                remediation_change(r, verdicts)] for r in data["remediations"][:SHOWN]], 7)
        _more(doc, data["remediations"], p)
    else:
        doc.add_paragraph(p["no_data"])

    doc.add_heading(f"5 {p['recommendations']}", level=1)
    if data["recommendations"]:
        for r in data["recommendations"][:SHOWN]:
            doc.add_paragraph(advice(r, p), style="List Number")
        _more(doc, data["recommendations"], p)
    else:
        doc.add_paragraph(p["no_recommendations"])
    sign_off(doc, f"6 {p['sign']}", p["provider"], p["customer_sign"], p["date"], data["generated"],
             t["generated"])
    return to_bytes(doc)
