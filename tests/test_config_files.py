"""Configuration checks through the real sshd: baseline, an edit with its redacted diff,
a big file by checksum only, an unreadable file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.config_files import redacted_diff
from core.model import Status
from tests.sshdev import Cycles, by, device_for, give, one


def test_diff_is_bounded() -> None:
    old = "\n".join(f"line {i}" for i in range(100))
    new = "\n".join(f"LINE {i}" for i in range(100))
    d = redacted_diff(old, new, "/etc/x", 10)
    assert d.count("\n") == 10 and "more diff lines" in d


@pytest.mark.peers
def test_config_changes_over_ssh(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    tns = remote_dir / "tnsnames.ora"
    tns.write_text("ORCL =\n  (DESCRIPTION = (ADDRESS = (HOST = db01)(PORT = 1521)))\n"
                   "# password=OldSecret1\n")
    big = remote_dir / "big.xml"
    big.write_text("x" * 5000)
    blob = remote_dir / "wallet.bin"
    blob.write_bytes(b"\x00\xff binary")
    root_only = remote_dir / "shadow.conf"
    root_only.write_text("k=v\n")
    os.chown(root_only, 0, 0)
    root_only.chmod(0o600)
    for f in (tns, big, blob):
        give(f, ssh_peer)
    files = [str(tns), str(big), str(blob), str(root_only)]
    dev = device_for(tmp_path, ssh_peer, ["config"], {"config": {"files": files, "max_diff_bytes": 1024}})
    cycles = Cycles(dev, "config")

    r = cycles.run()
    assert r.status is Status.OK, r.reason
    assert one(r.samples, "config_file", path=str(tns)).fields["changed"] == 0  # baseline
    assert not by(r.samples, "event")
    assert "OldSecret1" not in json.dumps(cycles.state)  # remembered text is redacted
    bad = one(r.samples, "config_file", path=str(root_only))
    assert str(bad.fields["status"]).startswith("unreadable")
    verdicts = {(v.check, v.instance): v.status for v in evaluate(r.samples, "testhost", load_rules())}
    assert verdicts[("config_file", str(root_only))] is Status.UNKNOWN
    assert verdicts[("config_changed", str(tns))] is Status.OK

    assert not by(cycles.run().samples, "event")  # nothing changed, nothing said

    tns.write_text("ORCL =\n  (DESCRIPTION = (ADDRESS = (HOST = db02)(PORT = 1521)))\n"
                   "# password=NewSecret2\n")
    big.write_text("y" * 5000)
    r = cycles.run()
    ev = one(r.samples, "event", kind="config_change", path=str(tns))
    diff = str(ev.fields["diff"])
    assert "-  (DESCRIPTION = (ADDRESS = (HOST = db01)" in diff and "+  (DESCRIPTION = (ADDRESS = (HOST = db02)" in diff
    assert "Secret" not in json.dumps([s.to_dict() for s in r.samples])
    big_ev = one(r.samples, "event", kind="config_change", path=str(big))
    assert "diff" not in big_ev.fields  # too big for a diff: checksum only, still an event
    assert one(r.samples, "config_file", path=str(big)).fields["changed"] == 1
    verdicts = {(v.check, v.instance): v.status for v in evaluate(r.samples, "testhost", load_rules())}
    assert verdicts[("config_changed", str(tns))] is Status.WARN

    tns.write_text(tns.read_text().replace("NewSecret2", "Third3"))
    r = cycles.run()
    ev = one(r.samples, "event", kind="config_change", path=str(tns))
    assert ev.fields["diff"] == "(only redacted values changed)"
    assert not by(cycles.run().samples, "event")
