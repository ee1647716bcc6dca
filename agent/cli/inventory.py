"""`xunjian inventory …`: validate and show the inventory."""

from __future__ import annotations

import typer
from rich.table import Table

from agent.cli.common import AllowEmptyOpt, ConfigOpt, Format, FormatOpt, InventoryOpt, cell, out, print_json
from agent.config import load_config
from agent.inventory import load_inventory, require_devices

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
                    "devices": [d.public() for d in inv.devices.values()]})
        return
    table = Table(header_style="bold")
    for col in ("device", "kind", "address", "groups", "collectors", "every", "ssh", "labels"):
        table.add_column(col, overflow="fold")
    for d in inv.devices.values():
        ssh = ""
        if any(c != "local" for c in d.collectors):
            auth = "key" if d.ssh.key_file else ("password ***" if d.ssh.password else "default keys")
            ssh = f"{d.ssh.user}, {auth}, host key {d.ssh.host_key_policy}"
        labels = " ".join(f"{k}={v}" for k, v in d.labels.items())
        table.add_row(cell(d.name), d.kind, cell(f"{d.address}:{d.port}"), cell(",".join(d.groups)),
                      ",".join(d.collectors), f"{d.interval}s", cell(ssh), cell(labels))
    out.print(table)
    out.print(f"{inv.path}: {len(inv.devices)} devices, valid")
