"""Trend charts as PNG (matplotlib, Agg, a CJK-capable font), embedded in HTML/PDF/DOCX."""

from __future__ import annotations

import base64
import io
from typing import Any

CJK = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "DejaVu Sans"]


def trend_png(title: str, days: list[str], series: dict[str, list[float | None]], unit: str,
              limit: float | None = None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = CJK
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(7.0, 2.4), dpi=110)
    x = list(range(len(days)))
    for label, values in series.items():
        ax.plot(x, [float("nan") if v is None else v for v in values], label=label, linewidth=1.2)
    if limit is not None:
        ax.axhline(limit, color="#c00", linewidth=0.8, linestyle="--")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(unit, fontsize=8)
    step = max(1, len(days) // 8)
    ax.set_xticks(x[::step], [d[5:] for d in days[::step]], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, linewidth=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7, loc="upper left")
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.14)  # tight_layout: a second draw
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def chart_for(trend: dict[str, Any], lang: str) -> bytes:
    label = trend["label"]
    return trend_png(label, trend["days"], {trend["series"]: trend["max"]}, trend["unit"], trend.get("limit"))


def bars_png(title: str, labels: list[str], series: dict[str, list[float | None]], unit: str) -> bytes:
    """Horizontal bars, one group per label (e.g. this period beside the previous one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = CJK
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(7.0, 0.5 + 0.28 * max(3, len(labels))), dpi=110)
    height = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.barh([y + i * height for y in range(len(labels))], [v or 0 for v in values], height=height,
                label=name)
    ax.set_yticks([y + height * (len(series) - 1) / 2 for y in range(len(labels))], labels, fontsize=7)
    ax.invert_yaxis()  # the largest first, at the top
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(unit, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(True, axis="x", linewidth=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.subplots_adjust(left=0.28, right=0.98, top=0.9, bottom=0.12)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()
