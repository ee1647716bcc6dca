"""Where the reports' templates, wording and logo come from: the package's templates and
reports/i18n.py, under a contractor's override directory and logo named in the config
(`report: {templates: DIR, logo: FILE}`), so that cover, logo and wording change without
touching code.

One process renders with one look: `configure()` is called once by the CLI from the config
(and by tests). The wording is merged into `LABELS` in place, so every report module that
reads `LABELS[lang]` sees it.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)

from core.problems import ConfigError, Problem, load_yaml_file
from reports.i18n import LABELS

WORDING = "i18n.yaml"  # in the override directory: {zh-CN: {...}, en: {...}} over reports/i18n.py
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

_PACKAGE = PackageLoader("reports", "templates")
_PRISTINE = copy.deepcopy(LABELS)

ENV = Environment(loader=_PACKAGE, autoescape=select_autoescape(["html.j2"]),
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
ENV.globals["logo"] = None


@dataclass(frozen=True)
class Logo:
    path: Path
    data: bytes
    mime: str

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def raster(self) -> bytes | None:
        """What a DOCX can embed: Word takes PNG/JPEG, so an SVG logo needs a PNG beside it
        (logo.svg + logo.png)."""
        if self.mime != "image/svg+xml":
            return self.data
        png = self.path.with_suffix(".png")
        return png.read_bytes() if png.is_file() else None


_logo: Logo | None = None


def logo() -> Logo | None:
    return _logo


def configure(templates: Path | None = None, logo_file: Path | None = None) -> None:
    """Use this override directory and logo from now on (None: the package's own)."""
    global _logo
    problems: list[Problem] = []
    if templates is not None and not templates.is_dir():
        raise ConfigError([Problem(str(templates), "", "report templates: no such directory")])
    ENV.loader = ChoiceLoader([FileSystemLoader(str(templates)), _PACKAGE]) if templates else _PACKAGE
    if ENV.cache is not None:
        ENV.cache.clear()  # an earlier override must not linger
    wording = copy.deepcopy(_PRISTINE)
    if templates is not None and (templates / WORDING).is_file():
        problems += _merge_wording(wording, templates / WORDING)
    if problems:
        raise ConfigError(problems)
    LABELS.clear()
    LABELS.update(wording)
    _logo = _read_logo(logo_file) if logo_file else None
    ENV.globals["logo"] = _logo.data_uri() if _logo else None


def _read_logo(path: Path) -> Logo:
    mime = LOGO_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ConfigError([Problem(str(path), "", f"report logo: one of {', '.join(LOGO_TYPES)}")])
    try:
        return Logo(path, path.read_bytes(), mime)
    except OSError as e:
        raise ConfigError([Problem(str(path), "", f"report logo: {e.strerror}")]) from None


def _merge_wording(into: dict[str, Any], path: Path) -> list[Problem]:
    """Merge the override YAML over the built-in words; an unknown key is a typo, not ignored."""
    raw = load_yaml_file(path, "report wording") or {}
    if not isinstance(raw, dict):
        return [Problem(str(path), "", "a mapping of language (zh-CN, en) to words expected")]
    problems: list[Problem] = []

    def merge(base: dict[Any, Any], over: dict[Any, Any], where: str) -> None:
        for key, value in over.items():
            place = f"{where}.{key}" if where else str(key)
            if key not in base:
                problems.append(Problem(str(path), place, "not a word the reports use"))
            elif isinstance(base[key], dict):
                if isinstance(value, dict):
                    merge(base[key], value, place)
                else:
                    problems.append(Problem(str(path), place, "a mapping expected"))
            elif isinstance(base[key], str) and isinstance(value, str):
                base[key] = value
            else:
                problems.append(Problem(str(path), place, f"a {type(base[key]).__name__} expected"))

    merge(into, raw, "")
    return problems


def template_problem(e: TemplateError) -> ConfigError:
    """A broken template as one clear message naming the file and the line."""
    if isinstance(e, TemplateSyntaxError):
        return ConfigError([Problem(e.filename or e.name or "report template", f"line {e.lineno}",
                                    e.message or "syntax error")])
    tb, where = e.__traceback__, ""
    while tb is not None:  # Jinja puts the template's file and line into the traceback
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            where = f"{tb.tb_frame.f_code.co_filename}: line {tb.tb_lineno}"
        tb = tb.tb_next
    file, _, line = where.partition(": ")
    return ConfigError([Problem(file or "report template", line, str(e))])
