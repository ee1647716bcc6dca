"""The linux collector's parsers: raw output in, records out."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.diskfs import disk_samples
from collectors.linux_parse import filesystems, parse_asset, parse_df, parse_system
from core.model import CollectionError

FIX = Path(__file__).parent / "fixtures"


def df(name: str) -> str:
    return (FIX / "df" / name).read_text()


def test_real_filesystems_kept_pseudo_dropped() -> None:
    fs = {f.path: f for f in filesystems(df("rhel7_kb.txt"), df("rhel7_inodes.txt"))}
    assert sorted(fs) == ["/", "/boot", "/home", "/mnt/backup share", "/u01/oradata"]
    root = fs["/"]
    assert (root.device, root.fstype) == ("/dev/mapper/rhel-root", "xfs")
    assert root.total == 52403200 * 1024 and root.used == 47710216 * 1024
    assert root.free == 4692984 * 1024
    assert root.used_percent == pytest.approx(100 * 47710216 / (47710216 + 4692984), abs=0.01)
    assert (root.inodes_total, root.inodes_used, root.inodes_free) == (26214400, 191234, 26023166)


def test_wrapped_long_device_name_is_joined() -> None:
    fs = {f.path: f for f in filesystems(df("rhel7_kb.txt"), df("rhel7_inodes.txt"))}
    ora = fs["/u01/oradata"]
    assert ora.device == "/dev/mapper/vg_oradata-lv_oradata_with_a_very_long_logical_volume_name"
    assert ora.used_percent == pytest.approx(95.38, abs=0.01)
    assert ora.inodes_used == 1520


def test_bind_mount_reported_once_under_shortest_path() -> None:
    paths = [f.path for f in filesystems(df("rhel7_kb.txt"), df("rhel7_inodes.txt"))]
    assert "/home" in paths and "/srv/bind of home" not in paths


def test_mount_point_and_device_with_spaces() -> None:
    fs = {f.path: f for f in filesystems(df("rhel7_kb.txt"), df("rhel7_inodes.txt"))}
    share = fs["/mnt/backup share"]
    assert share.device == "//fileserver/backup share" and share.fstype == "cifs"
    assert share.inodes_total == 0  # cifs reports no inodes: no inode fields emitted
    sample = disk_samples("db01", [share], 1)[0]
    assert "inodes_total" not in sample.fields
    assert sample.tags == {"host": "db01", "path": "/mnt/backup share",
                           "device": "//fileserver/backup share", "fstype": "cifs"}


def test_octal_escaped_mount_point_decoded() -> None:
    text = ("Filesystem Type 1024-blocks Used Available Capacity Mounted on\n"
            "/dev/sdb1 ext4 100 40 60 40% /data\\040disk\n")
    assert parse_df(text)[0].mount == "/data disk"


@pytest.mark.parametrize("name", ["localized_garbage.txt", "truncated.txt"])
def test_output_we_cannot_read_is_an_error_not_empty(name: str) -> None:
    with pytest.raises(CollectionError):
        parse_df(df(name))


def test_empty_output_is_an_error() -> None:
    with pytest.raises(CollectionError, match="no header"):
        parse_df("")


def test_telegraf_compatible_disk_sample() -> None:
    fs = filesystems(df("rhel7_kb.txt"), df("rhel7_inodes.txt"))
    s = next(x for x in disk_samples("db01", fs, 123) if x.tags["path"] == "/")
    assert s.measurement == "disk" and s.time == 123
    assert set(s.fields) == {"total", "used", "free", "used_percent", "inodes_total",
                             "inodes_used", "inodes_free", "inodes_used_percent"}


def test_system_facts() -> None:
    facts = parse_system((FIX / "system_ok.txt").read_text())
    assert (facts.load1, facts.load15, facts.n_cpus) == (0.52, 0.59, 8)
    assert facts.uptime == pytest.approx(351234.12)
    with pytest.raises(CollectionError):
        parse_system("0.1 0.2\n")


def test_server_asset_with_dmi() -> None:
    assert parse_asset((FIX / "linux" / "asset_rhel8_dmi.txt").read_text()) == {
        "os": "Red Hat Enterprise Linux 8.9 (Ootpa)", "kernel": "4.18.0-513.5.1.el8_9.x86_64",
        "arch": "x86_64", "vendor": "Inspur", "model": "NF5280M5", "serial": "219151842"}


def test_server_asset_rhel6_without_os_release_and_unreadable_serial() -> None:
    asset = parse_asset((FIX / "linux" / "asset_rhel6_vm.txt").read_text())
    assert asset is not None and asset["os"] == "Red Hat Enterprise Linux Server release 6.10 (Santiago)"
    assert asset["model"] == "VMware Virtual Platform" and "serial" not in asset  # absent, not empty


def test_server_asset_placeholders_and_half_reads() -> None:
    text = "PRETTY_NAME='Kylin V10'\nkernel=4.19.90\narch=aarch64\nsys_vendor=To be filled by O.E.M.\n"
    assert parse_asset(text) == {"os": "Kylin V10", "kernel": "4.19.90", "arch": "aarch64"}
    # uname failed (kernel= empty) or no OS name: no asset this cycle rather than a false change
    assert parse_asset("PRETTY_NAME=Debian\nkernel=\narch=x86_64\n") is None
    assert parse_asset("kernel=6.1.0\narch=x86_64\n") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("PRETY_NAMEkrnlach=\"' x\n")), max_size=200))
def test_asset_parser_never_raises(text: str) -> None:
    asset = parse_asset(text)
    assert asset is None or all(asset[k] for k in ("os", "kernel", "arch"))
