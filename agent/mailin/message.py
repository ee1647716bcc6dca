"""One received mail, read with the standard library's email package: who sent it, when, its
subject and plain-text body, its attachments (named, not kept), and the thread headers.

MIME as mail clients send it in China: multipart/alternative and /mixed, quoted-printable and
base64, GB2312 / GBK / GB18030 / UTF-8 bodies (a part labelled GB2312 is decoded as GB18030,
its superset: Outlook and Foxmail label GBK text GB2312), RFC 2047 subjects and names. An
HTML-only mail is converted to text. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

BODY_CHARS = 20_000  # of a body kept in a case; the rest is cut (the mail stays in the mailbox)
# A number the case engine gives (agent.cases.engine._next_number): F-YYYYMMDD-NNNN.
CASE_NUMBER = re.compile(r"\b(F-\d{8}-\d{4,})\b")
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
          "cp936": "gb18030", "ks_c_5601-1987": "cp949", "iso-8859-1": "cp1252", "us-ascii": "utf-8"}


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Mail:
    message_id: str
    subject: str
    sender_name: str
    sender: str  # the address, lower case
    reply_to: str  # where an answer goes (Reply-To, else From)
    date: float | None  # the Date header, None when missing or unreadable
    body: str
    attachments: tuple[Attachment, ...]
    in_reply_to: tuple[str, ...]  # In-Reply-To and References, message ids with their <>
    automatic: str  # why it is an automatic message (auto-reply, bounce, list), or ""

    @property
    def reporter(self) -> str:
        return f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender

    @property
    def case_number(self) -> str | None:
        m = CASE_NUMBER.search(self.subject)
        return m.group(1) if m else None

    def attachment_text(self) -> str:
        if not self.attachments:
            return ""
        names = ", ".join(f"{a.name} ({_size(a.size)})" for a in self.attachments)
        return f"附件 / Attachments (not kept; see the mailbox): {names}"


def parse(raw: bytes) -> Mail:
    msg = message_from_bytes(raw, policy=policy.compat32)
    name, address = _sender(msg.get_all("From") or [])
    _, reply = _sender(msg.get_all("Reply-To") or [])
    body, attachments = _content(msg)
    refs = " ".join(_header(msg.get(h)) for h in ("In-Reply-To", "References"))
    return Mail(
        message_id=_header(msg.get("Message-ID")).strip(),
        subject=" ".join(_header(msg.get("Subject")).split()),
        sender_name=name, sender=address, reply_to=reply or address,
        date=_date(msg.get("Date")), body=body[:BODY_CHARS], attachments=tuple(attachments),
        in_reply_to=tuple(dict.fromkeys(re.findall(r"<[^<>\s]+>", refs))), automatic=_automatic(msg, address))


def _header(value: object) -> str:
    """A header's text with RFC 2047 words decoded (charsets as wide as _WIDER makes them)."""
    if value is None:
        return ""
    text = str(value)
    try:
        parts = decode_header(text)
    except HeaderParseError:
        return text  # a malformed encoded word: the header as it came, still shown to people
    # decode_header keeps the spaces that separate words and drops those between encoded words
    return "".join(chunk if isinstance(chunk, str) else _decode(chunk, charset or "utf-8")
                   for chunk, charset in parts)


def _decode(data: bytes, charset: str) -> str:
    cs = charset.strip().lower()
    cs = _WIDER.get(cs, cs)
    try:
        return data.decode(cs)
    except (LookupError, UnicodeDecodeError):
        for fallback in ("utf-8", "gb18030"):
            try:
                return data.decode(fallback)
            except UnicodeDecodeError:
                continue
        return data.decode("utf-8", errors="replace")


def _sender(values: list[str]) -> tuple[str, str]:
    pairs = getaddresses([_header(v) for v in values])
    for name, address in pairs:
        if "@" in address:
            return name.strip().strip('"'), address.strip().lower()
    return "", ""


def _date(value: object) -> float | None:
    if value is None:
        return None
    try:
        d: datetime = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return d.timestamp() if d.tzinfo is not None else None


def _automatic(msg: Message, sender: str) -> str:
    """Mail no person wrote: answering or turning it into a case would loop with a robot."""
    auto = (msg.get("Auto-Submitted") or "no").strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    for h in ("X-Autoreply", "X-Autorespond"):
        if msg.get(h):
            return h
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    local = sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster") or msg.get_content_type() == "multipart/report":
        return "a delivery report"
    return ""


def _content(msg: Message) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = part.get_filename()
        if filename is not None or disposition == "attachment" or not ctype.startswith("text/"):
            payload = part.get_payload(decode=True) or b""
            attachments.append(Attachment(_header(filename) or f"({ctype})", ctype, len(payload)))
            continue
        payload = part.get_payload(decode=True) or b""
        text = _decode(payload, part.get_content_charset() or "utf-8")
        if ctype == "text/html":
            html.append(html_to_text(text))
        else:
            plain.append(text)
    body = "\n\n".join(plain) if any(p.strip() for p in plain) else "\n\n".join(html)
    return _tidy(body), attachments


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Text(HTMLParser):
    BLOCK = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"})
    SKIP = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BLOCK:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    p.close()
    return _tidy("".join(p.out).replace("\xa0", " "))


# Where a reply's quotation of earlier mail begins (the clients seen at customers: Outlook,
# Foxmail, NetEase, QQ, Gmail, Apple Mail).
_QUOTE_START = re.compile(
    r"^(-{2,}\s*(原始邮件|Original Message|Forwarded message|转发的邮件)\s*-{2,}"
    r"|(发件人|From)\s*[:：].*"
    r"|On .+ wrote:|在 .+ 写道[:：]?|.*于\d{4}年.*写道[:：]?)\s*$", re.I)


def reply_text(body: str) -> str:
    """What the sender wrote in a reply, without the quoted earlier mail."""
    out = []
    for line in body.split("\n"):
        if _QUOTE_START.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            out.append(line)
    return _tidy("\n".join(out))


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def compose(sender: str, to: str, subject: str, body: str, message_id: str,
            in_reply_to: str = "", references: tuple[str, ...] = ()) -> EmailMessage:
    """A plain UTF-8 message (the acknowledgement), marked automatic so robots do not answer."""
    from email.utils import formatdate

    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join([*references, in_reply_to])
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: no auto-reply to this one
    msg.set_content(body, charset="utf-8")
    return msg
