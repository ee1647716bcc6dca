"""`xunjian inventory …`: validate and show the inventory."""

from __future__ import annotations

import typer
from rich.table import Table

from agent.cli.common import AllowEmptyOpt, ConfigOpt, Format, FormatOpt, InventoryOpt, cell, out, print_json
from agent.config import load_config
from agent.inventory import Device, load_inventory, require_devices

app = typer.Typer(help="Validate and show the inventory.", no_args_is_help=True)


@app.command("check")
def check(config: ConfigOpt = None, inventory: InventoryOpt = None,
          fmt: FormatOpt = Format.table, allow_empty: AllowEmptyOpt = False) -> None:
    """Validate the inventory and list every device with its effective settings.

    Settings inherit defaults ← groups (in the order the device lists them) ← device.
    Secrets are resolved (so a missing variable is an error) but shown as ***.
    Every problem is reported at once; exit code 2 when there is any. An inventory without
    devices is one (an empty or truncated file) unless --allow-empty.

    Examples:

      xunjian inventory check

      xunjian inventory check -i /etc/xunjian/inventory.yaml --format json
    """
    cfg = load_config(config)
    inv = load_inventory(inventory or cfg.inventory, cfg.secrets_file)
    if not allow_empty:
        require_devices(inv)
    if fmt is Format.json:
        print_json({"inventory": str(inv.path),
                    "devices": [{**d.public(), "transports": transports(d)}
                                for d in inv.devices.values()]})
        return
    table = Table(header_style="bold")
    for col in ("device", "kind", "address", "groups", "collectors", "every", "transport",
                "labels"):
        table.add_column(col, overflow="fold")
    for d in inv.devices.values():
        labels = " ".join(f"{k}={v}" for k, v in d.labels.items())
        shown = "\n".join(f"{k}: {v}" for k, v in transports(d).items())
        table.add_row(cell(d.name), d.kind, cell(d.address), cell(",".join(d.groups)),
                      ",".join(d.collectors), f"{d.interval}s", cell(shown), cell(labels))
    out.print(table)
    out.print(f"{inv.path}: {len(inv.devices)} devices, valid")


def transports(d: Device) -> dict[str, str]:
    """The transport settings that apply to each of the device's ways in: SSH (port, user,
    auth, host key policy) only for SSH collectors, SNMP version/port for `snmp`, the CLI
    collector's own SSH settings for `cli`. Secrets never shown."""
    from collectors import COLLECTORS

    out_: dict[str, str] = {}
    kinds = {COLLECTORS[c].transport for c in d.collectors if c in COLLECTORS}
    if "ssh" in kinds:
        auth = "key" if d.ssh.key_file else ("password ***" if d.ssh.password else "default keys")
        out_["ssh"] = (f"port {d.port}, {d.ssh.user}, {auth}, host key {d.ssh.host_key_policy}")
    snmp = d.settings.get("snmp")
    if "snmp" in kinds and snmp is not None:
        who = f"user {snmp.user}, {snmp.security}" if snmp.version == "3" else "community ***"
        out_["snmp"] = (f"v{snmp.version}, udp port {snmp.port}, {who}, timeout {snmp.timeout:g} s, "
                        f"retries {snmp.retries}"
                        + (f", profile {snmp.profile}" if snmp.profile else ""))
    cli = d.settings.get("cli")
    if "netcli" in kinds and cli is not None:
        out_["cli"] = (f"{cli.platform}, port {cli.port}, {cli.username}, password ***, "
                       f"host key {cli.host_key_policy}")
    rest = d.settings.get("weblogic_rest")
    if "http" in kinds and rest is not None:
        out_["http"] = f"{rest.url}, {rest.user}, password ***, verify {str(rest.verify).lower()}"
    if "local" in kinds:
        out_["local"] = "this machine"
    return out_
