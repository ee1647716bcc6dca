"""A private dovecot IMAP server on 127.0.0.1 for the mail intake's tests (Debian's
`dovecot-imapd`).

`dovecot -F -c CONF` with everything in a fresh temporary directory: its own base and state
dirs, log file, passwd-file for both passdb and userdb, a Maildir per user, a certificate made
for 127.0.0.1 (its own CA: the tests verify it with `ca_file`). Two listeners: STARTTLS on
`port`, implicit TLS on `imaps_port`. Nothing from /etc/dovecot is read. As root, the mail
processes run as `nobody` (dovecot refuses uid 0 for mail); as another user, as that user.
Stopped by PID (SIGTERM; the master takes its children down in about a second).

Messages are delivered with IMAP APPEND (`deliver`), over TLS like any client. Failed logins
carry no penalty delay (`anvil-auth-penalty` mode 0): the wrong-password tests stay fast.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import ssl
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from tests.hook_peers import self_signed
from tests.peers import HOST, _Peer, free_port

DOVECOT = "/usr/sbin/dovecot"

CONF = """\
base_dir = {t}/run
state_dir = {t}/state
instance_name = dovecot-test-{port}
protocols = imap
listen = 127.0.0.1
log_path = {t}/dovecot.log
info_log_path = {t}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
ssl = yes
ssl_cert = <{t}/cert.pem
ssl_key = <{t}/key.pem
disable_plaintext_auth = yes
auth_failure_delay = 0
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {t}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {t}/passwd
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class DovecotPeer(_Peer):
    name = "dovecot"

    def __init__(self, users: dict[str, str] | None = None) -> None:
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot not found: install the Debian package 'dovecot-imapd' "
                               "(apt-get install -y dovecot-imapd)")
        # Not under pytest's 0700 temp root: the mail uid (nobody) must reach the Maildirs.
        super().__init__(Path(tempfile.mkdtemp(prefix="xj-imap-")))
        os.chmod(self.workdir, 0o755)
        self.imaps_port = free_port()
        self.users = users or {"desk": "imap-test-pw"}
        if os.geteuid() == 0:
            self.uid, self.gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            self.login_user, self.internal_user, self.internal_group = "dovenull", "dovecot", "dovecot"
        else:
            self.uid, self.gid = os.geteuid(), os.getegid()
            self.login_user = self.internal_user = pwd.getpwuid(self.uid).pw_name
            self.internal_group = grp.getgrgid(self.gid).gr_name
        self.cert, self.key = self_signed(self.workdir)

    @property
    def ca_file(self) -> str:
        return self.cert

    def _prepare(self) -> None:
        t = self.workdir
        for d in ("run", "state"):
            (t / d).mkdir(exist_ok=True)
        lines = []
        for user, password in self.users.items():
            home = t / "home" / user
            for sub in ("new", "cur", "tmp"):
                (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
            for p in [t / "home", home, *home.rglob("*")]:
                os.chown(p, self.uid, self.gid)
            lines.append(f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}")
        (t / "passwd").write_text("\n".join(lines) + "\n")
        (t / "dovecot.conf").write_text(CONF.format(
            t=t, port=self.port, imaps_port=self.imaps_port, login_user=self.login_user,
            internal_user=self.internal_user, internal_group=self.internal_group))

    def _command(self) -> list[str]:
        return [DOVECOT, "-F", "-c", str(self.workdir / "dovecot.conf")]

    def _log_files(self) -> list[Path]:
        return [self.log_file, self.workdir / "dovecot.log"]

    def _ready(self) -> bool:
        try:
            with imaplib.IMAP4(HOST, self.port, timeout=1) as im:
                return bool(im.welcome.startswith(b"* OK"))
        except OSError:
            return False

    def _after_stop(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- a client for the tests ---------------------------------------------------------------

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cert)

    def client(self, user: str = "desk") -> imaplib.IMAP4_SSL:
        im = imaplib.IMAP4_SSL(HOST, self.imaps_port, ssl_context=self.context(), timeout=10)
        im.login(user, self.users[user])
        return im

    def deliver(self, message: EmailMessage | bytes, user: str = "desk", mailbox: str = "INBOX") -> None:
        """Put a message into the mailbox as a mail server would (APPEND, no flags)."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.client(user) as im:
            typ, data = im.append(mailbox, "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
            im.logout()

    def uids(self, mailbox: str = "INBOX", user: str = "desk", criteria: str = "ALL") -> list[int]:
        """The UIDs in a mailbox ([] when it does not exist)."""
        with self.client(user) as im:
            typ, _ = im.select(f'"{mailbox}"', readonly=True)
            if typ != "OK":
                return []
            typ, data = im.uid("SEARCH", criteria)
            im.logout()
            return [int(u) for u in (data[0] or b"").split()]
