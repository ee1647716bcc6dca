"""What every command shares: consoles, formats, logging, loading the app."""

from __future__ import annotations

import getpass
import json
import logging
import sys
import threading
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from core.redaction import RedactingFilter

out = Console(highlight=False, soft_wrap=True, emoji=False)  # `inode:100:mtime` is not an emoji
err = Console(stderr=True, highlight=False, emoji=False)


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table for people, json for scripts.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Agent config (data dir, sinks). Default: $XUNJIAN_CONFIG, "
    "else ./xunjian.yaml if present, else built-in defaults.", show_default=False)]
InventoryOpt = Annotated[Path | None, typer.Option(
    "--inventory", "-i", help="Inventory file. Default: the config's `inventory`, "
    "else ./inventory.yaml.", show_default=False)]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="The SQLite store in this directory (even when the config names a store.url). "
    "Default: the config's store.url, else its data_dir (var/).",
    show_default=False)]


class Lang(StrEnum):
    zh = "zh-CN"
    en = "en"


BINARY = ("pdf", "docx", "xlsx")


def require_output(fmt: str, output: Path | None) -> None:
    """PDF, DOCX and XLSX are not for a terminal: they need --output."""
    if fmt in BINARY and output is None:
        raise typer.BadParameter(f"{fmt} is binary: give --output FILE", param_hint="--format")


def when(ts: float | None, tz: tzinfo, seconds: bool = False) -> str:
    """A moment for people: in the configured time zone (not the host's), with the zone shown."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "") + " %Z")


def when_iso(value: object, tz: tzinfo) -> object:
    """An ISO timestamp from a to_dict() (UTC) shown in the configured zone; anything else as is."""
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            return when(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp(), tz, seconds=True)
        except ValueError:
            return value
    return value


def actor(who: str | None) -> str:
    """Who did it: `--as NAME`, else the OS user."""
    if who:
        return who
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cell(value: object, limit: int = 200) -> str:
    """A table cell of at most `limit` characters, markup escaped: rich wraps every character of
    a cell, so one 30 MB label would keep the table busy for minutes (JSON keeps the whole value)."""
    text = str(value)
    return escape(text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)")


AllowEmptyOpt = Annotated[bool, typer.Option(
    "--allow-empty", help="Accept an inventory without devices (by default that is an error: "
    "an empty or truncated file).")]


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


class JsonLines(logging.Formatter):
    """One JSON object per line, for journald/Loki/ELK pipelines."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
               "logger": record.name, "message": record.getMessage()}
        if record.exc_info or record.exc_text:  # exc_text: as RedactingFilter left it
            doc["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def _thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit:
        logging.getLogger("xunjian").error(
            "uncaught exception in thread %s", args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]


def setup_logging(level: int, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # no secret and no URL credentials in any log line
    threading.excepthook = _thread_crash  # through the filter too, not raw to stderr
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "paramiko", "urllib3", "influxdb_client", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
