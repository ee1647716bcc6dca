"""Is there a font for Chinese text? Without one a PDF prints every Chinese character as an empty
box (tofu) and WeasyPrint only warns, so a zh-CN report would leave with exit status 0 and nothing
readable in it. Asked of fontconfig itself (the library pango and so WeasyPrint use), so the answer
is the one the renderer will get, FONTCONFIG_FILE and the user's own fonts included."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re

from core.problems import ConfigError, Problem

PACKAGE = "fonts-noto-cjk"  # Debian's and Ubuntu's; the fonts the reports name first
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


class _FontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(ctypes.c_void_p))]


@functools.cache
def chinese_fonts() -> tuple[str, ...]:
    """The families fontconfig offers for Simplified Chinese (empty: none, or no fontconfig)."""
    name = ctypes.util.find_library("fontconfig") or "libfontconfig.so.1"
    try:
        fc = ctypes.CDLL(name)
    except OSError:
        return ()
    fc.FcNameParse.restype = ctypes.c_void_p
    fc.FcObjectSetBuild.restype = ctypes.c_void_p
    fc.FcFontList.restype = ctypes.POINTER(_FontSet)
    fc.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fc.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                      ctypes.POINTER(ctypes.c_char_p)]
    fc.FcPatternDestroy.argtypes = [ctypes.c_void_p]
    fc.FcObjectSetDestroy.argtypes = [ctypes.c_void_p]
    fc.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FontSet)]
    pattern = fc.FcNameParse(b":lang=zh-cn")
    objects = fc.FcObjectSetBuild(b"family", None)
    found = fc.FcFontList(None, pattern, objects)
    families: set[str] = set()
    try:
        for i in range(found.contents.nfont if found else 0):
            value = ctypes.c_char_p()
            if fc.FcPatternGetString(found.contents.fonts[i], b"family", 0, ctypes.byref(value)) == 0:
                families.add((value.value or b"").decode("utf-8", "replace"))
    finally:
        if found:
            fc.FcFontSetDestroy(found)
        fc.FcObjectSetDestroy(objects)
        fc.FcPatternDestroy(pattern)
    return tuple(sorted(families))


def require_chinese_font(text: str, lang: str, what: str = "PDF report") -> None:
    """Refuse to write a document in Chinese, or with Chinese text in it (device names, notes),
    when no installed font can draw it."""
    if (lang == "zh-CN" or _CJK.search(text)) and not chinese_fonts():
        raise ConfigError([Problem("fonts", "", (
            f"no font for Chinese text is installed, so the {what} would print empty boxes; "
            f"install one, e.g. `apt-get install {PACKAGE}` as root (Debian/Ubuntu), and run again"))])
