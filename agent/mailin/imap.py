"""The polled mailbox over IMAP (the standard library's imaplib): TLS always, the server's
certificate verified; every failure one MailboxError with a reason fit for a case and a log
line (never the password: imaplib's errors do not carry it, and they pass through redaction).

Messages are read with BODY.PEEK[] so reading does not mark them \\Seen: only a message the
store has taken is flagged and moved, after its case event was committed.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import time
from types import TracebackType
from typing import Self

from agent.mailin.settings import MailIntake
from core.redaction import redact


class MailboxError(Exception):
    """The mailbox could not be read or changed; str() is the reason."""


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    parts = data if isinstance(data, list | tuple) else [data]
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p)
                    for p in parts if p is not None).strip()


class Mailbox:
    def __init__(self, settings: MailIntake) -> None:
        self.s = settings
        self.m = settings.model
        self.im: imaplib.IMAP4 | None = None
        self.uidvalidity = 0
        self._folder_ready = False

    # -- session ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        where = f"{self.m.host}:{self.s.port}"
        ctx = ssl.create_default_context(cafile=str(self.s.ca_file) if self.s.ca_file else None)
        try:
            if self.m.tls == "implicit":
                self.im = imaplib.IMAP4_SSL(self.m.host, self.s.port, ssl_context=ctx, timeout=self.m.timeout)
            else:
                self.im = imaplib.IMAP4(self.m.host, self.s.port, timeout=self.m.timeout)
                self.im.starttls(ssl_context=ctx)
        except ssl.SSLCertVerificationError as e:
            self._drop()
            raise MailboxError(f"IMAP {where}: TLS certificate not trusted ({e.verify_message}); "
                               "give the CA as intake.mail.ca_file") from None
        except ssl.SSLError as e:
            self._drop()
            raise MailboxError(f"IMAP {where}: TLS failed ({e.reason or e})") from None
        except TimeoutError:
            self._drop()
            raise MailboxError(f"IMAP {where}: no answer within {self.m.timeout:g} s") from None
        except OSError as e:
            self._drop()
            raise MailboxError(f"IMAP {where} unreachable: {e.strerror or e}") from None
        except imaplib.IMAP4.error as e:  # no STARTTLS offered, a bad greeting
            self._drop()
            raise MailboxError(f"IMAP {where}: {redact(_text(e.args))}") from None
        try:
            self.im.login(self.m.user, self.s.password.get_secret_value())
        except imaplib.IMAP4.error as e:
            self._drop()
            raise MailboxError(f"IMAP {where}: login refused for {self.m.user}: "
                               f"{redact(_text(e.args))}") from None
        except OSError as e:
            self._drop()
            raise MailboxError(f"IMAP {where}: connection lost at login: {e}") from None
        typ, data = self._call("select", _quote(self.m.mailbox))
        if typ != "OK":
            self.__exit__(None, None, None)
            raise MailboxError(f"IMAP {where}: mailbox {self.m.mailbox!r} cannot be opened: {_text(data)}")
        _, validity = self.im.response("UIDVALIDITY")
        try:
            self.uidvalidity = int(_text(validity))
        except ValueError:
            self.__exit__(None, None, None)
            raise MailboxError(f"IMAP {where}: no UIDVALIDITY for {self.m.mailbox!r}") from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        im, self.im = self.im, None
        if im is None:
            return
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            im.logout()

    def _drop(self) -> None:
        im, self.im = self.im, None
        if im is not None:
            with contextlib.suppress(OSError):
                im.shutdown()

    def _call(self, name: str, *args: str) -> tuple[str, list[object]]:
        assert self.im is not None
        try:
            typ, data = getattr(self.im, name)(*args)
        except imaplib.IMAP4.abort as e:
            why = redact(_text(e.args))
            raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: connection lost ({why})") from None
        except imaplib.IMAP4.error as e:
            raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: {name} refused: {redact(_text(e.args))}") \
                from None
        except OSError as e:
            raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: connection lost ({e})") from None
        return typ, list(data)

    def _uid(self, command: str, *args: str) -> list[object]:
        typ, data = self._call("uid", command, *args)
        if typ != "OK":
            raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: UID {command} refused: {_text(data)}")
        return data

    # -- reading ------------------------------------------------------------------------------

    def search(self, criteria: str = "ALL") -> list[int]:
        data = self._uid("SEARCH", criteria)
        return sorted(int(u) for u in _text(data[:1]).split())

    def fetch(self, uid: int) -> tuple[bytes, float | None]:
        """The message as received and the server's arrival time (INTERNALDATE)."""
        data = self._uid("FETCH", str(uid), "(INTERNALDATE BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                head = item[0].decode("ascii", "replace") if isinstance(item[0], bytes) else str(item[0])
                internal = None
                m = re.search(r'INTERNALDATE "([^"]+)"', head)
                if m:
                    parsed = imaplib.Internaldate2tuple(f'INTERNALDATE "{m.group(1)}"'.encode())
                    internal = time.mktime(parsed) if parsed else None
                return item[1], internal
        raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: message UID {uid} is gone")

    # -- after the store took a message ---------------------------------------------------------

    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            self._uid("STORE", _set(uids), "+FLAGS.SILENT", "(\\Seen)")

    def move(self, uids: list[int], folder: str) -> None:
        """Flag \\Seen and move to `folder` (made if missing): MOVE where the server has it, else
        COPY, \\Deleted and expunge."""
        if not uids:
            return
        assert self.im is not None
        self.mark_seen(uids)
        if not self._folder_ready:
            typ, data = self._call("create", _quote(folder))
            if typ != "OK" and "ALREADYEXISTS" not in _text(data).upper() \
                    and "exists" not in _text(data).lower():
                raise MailboxError(f"IMAP {self.m.host}:{self.s.port}: cannot create folder {folder!r}: "
                                   f"{_text(data)}")
            self._folder_ready = True
        if "MOVE" in self.im.capabilities:
            self._uid("MOVE", _set(uids), _quote(folder))
            return
        self._uid("COPY", _set(uids), _quote(folder))
        self._uid("STORE", _set(uids), "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self.im.capabilities:
            self._uid("EXPUNGE", _set(uids))
        else:
            self._call("expunge")


def _set(uids: list[int]) -> str:
    return ",".join(str(u) for u in sorted(uids))
