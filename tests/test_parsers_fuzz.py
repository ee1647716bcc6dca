"""The linux batch's parsers on garbage (hypothesis): a result or a CollectionError with a
reason — never another exception, never a value that is not a plain number."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collectors.common.batch import split_sections
from collectors.linux_parse import parse_df, parse_system
from core.model import CollectionError

# Tokens real output is made of, plus the kind that fooled str.isdigit()/float() before.
TRICKY = ["0", "7", "100%", "-", "²", "٣", "1_0", "nan", "inf", "1e999", "/", "/mnt/a b", "tmpfs",
          "/dev/sda1", "ext4", "\t", " ", "Filesystem", "%", "\x00", "\u2028", "\x85", "é"]
token = st.one_of(st.sampled_from(TRICKY), st.text(max_size=8))
line = st.lists(token, max_size=8).map(" ".join)
lines = st.lists(line, max_size=12).map("\n".join)
DF_HEADER = "Filesystem     Type 1024-blocks    Used Available Capacity Mounted on\n"


def reason_or_result(parser, text):  # type: ignore[no-untyped-def]
    try:
        return parser(text)
    except CollectionError as e:
        assert str(e)  # garbage gets a reason, which becomes the UNKNOWN's message
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), lines, lines.map(lambda t: DF_HEADER + t)))
@example(DF_HEADER + "/dev/sda1 ext4 ²0 1 2 3% /")
@example(DF_HEADER + "/dev/sda1 ext4 ٣ 1 2 3% /")
def test_parse_df_never_raises_on_garbage(text: str) -> None:
    rows = reason_or_result(parse_df, text)
    for r in rows or []:
        assert all(v is None or (isinstance(v, int) and v >= 0) for v in (r.a, r.b, r.c))
        assert r.mount.startswith("/")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), lines))
@example("nan inf 1e999\n1_0\n٣\n")
@example("0.1 0.2 0.3\n5.0 1.0\n0\n")
def test_parse_system_never_raises_on_garbage(text: str) -> None:
    facts = reason_or_result(parse_system, text)
    if facts is not None:
        assert facts.n_cpus >= 1
        assert all(math.isfinite(v) and v >= 0 for v in (facts.load1, facts.load5, facts.load15,
                                                          facts.uptime))


def test_parse_system_refuses_what_float_would_take() -> None:
    for text in ("nan 0.1 0.2\n1.0\n2\n", "0.1 0.2 0.3\ninf\n2\n", "0.1 0.2 0.3\n1.0\n0\n",
                 "0.1 0.2 0.3\n1.0\n٣\n"):
        with pytest.raises(CollectionError, match="not understood"):
            parse_system(text)


NONCE = "abc"
MARK = f"@@xj-{NONCE}"
marker = st.builds(lambda w, n, s: f"{MARK} {w} {n} {s}".rstrip(),
                   st.sampled_from(["begin", "end", "x", ""]), st.sampled_from(["one", "two", "", "one two"]),
                   st.sampled_from(["", "0", "3", "²", "٣", "-1", "9999", "0x1"]))
batch_output = st.lists(st.one_of(marker, line), max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), batch_output))
@example(f"{MARK} begin one\nx\n{MARK} end one ²\n")
def test_split_sections_never_raises_on_garbage(text: str) -> None:
    sections = reason_or_result(lambda t: split_sections(t, NONCE, ["one"]), text)
    if sections is not None:
        assert "one" in sections and all(isinstance(s.status, int) for s in sections.values())


def test_split_sections_takes_ascii_digits_only() -> None:
    with pytest.raises(CollectionError, match="out of order"):
        split_sections(f"{MARK} begin one\nx\n{MARK} end one ²\n", NONCE, ["one"])
    assert split_sections(f"{MARK} begin one\nx\n{MARK} end one 2\n", NONCE, ["one"])["one"].status == 2
