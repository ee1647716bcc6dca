"""The daily inspection ledger (日常巡检记录) as DOCX, for signing: the same model as the HTML."""

from __future__ import annotations

from typing import Any

from reports.docx import cover, cover_rows, new_document, sign_off, table, to_bytes
from reports.i18n import LABELS
from reports.ledger import VERDICTS, scope_text


def _value(x: dict[str, Any]) -> str:
    return "" if x["value"] is None else f"{x['value']:g}{x['unit'] or ''}"


def ledger_docx(data: dict[str, Any], lang: str) -> bytes:
    t = LABELS[lang]
    lt, p = t["ledger"], t["periodic"]
    doc = new_document(data, lang, f"{lt['title']} {data['period']}")
    cover(doc, lt["title"], cover_rows(data.get("cover"), data["period"], p))
    if not data["runs"]:
        doc.add_paragraph(lt["no_runs"])
    else:
        doc.add_heading(lt["summary"], level=1)
        table(doc, [lt["run"], lt["started"], lt["by"], lt["trigger"], lt["scope"], lt["devices"],
                    lt["checks"], *[lt["verdicts"][v] for v in VERDICTS]],
              [[r["id"], r["started"], r["by"], lt["triggers"].get(r["trigger"], r["trigger"]),
                scope_text(r["scope"], lt), r["devices"], r["checks"], *[r["counts"][v] for v in VERDICTS]]
               for r in data["runs"]], size=8)
        for r in data["runs"]:
            doc.add_heading(f"{lt['run']} {r['id']} · {r['started']} · {r['by']}", level=2)
            table(doc, [lt["device"], lt["check"], lt["verdict"], lt["value"], lt["threshold"], lt["message"],
                        lt["evidence"]],
                  [[x["device"], x["check"], lt["verdicts"][x["verdict"]], _value(x), x["threshold"],
                    x["message"], (x["evidence"] or "")[:200]] for x in r["results"]], size=7)
    doc.add_heading(lt["actions"], level=1)
    if data["actions"]:
        table(doc, [t["case"], t["at"], t["event"], t["actor"], t["note"]],
              [[a["case"], a["at"], t["events"].get(a["kind"], a["kind"]),
                t["system"] if a["actor"] == "system" else a["actor"], a["said"]] for a in data["actions"]],
              size=8)
    else:
        doc.add_paragraph(t["none"])
    sign_off(doc, p["sign"], p["provider"], p["customer_sign"], p["date"], data["generated"], t["generated"])
    return to_bytes(doc)
