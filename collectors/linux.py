"""A Linux server over SSH: filesystems (df) and system load. One connection, few commands."""

from __future__ import annotations

from agent.model import CollectionError, CommandOutput, CommandRunner, Sample, Target, now_ns
from collectors.diskfs import disk_samples
from collectors.linux_parse import filesystems, parse_system

# LC_ALL=C: headers and number formats independent of the server's locale.
DF_BLOCKS = "LC_ALL=C df -P -k -T"
DF_INODES = "LC_ALL=C df -P -i -T"
SYSTEM = "cat /proc/loadavg /proc/uptime; getconf _NPROCESSORS_ONLN"


def checked(out: CommandOutput) -> str:
    """A non-zero exit is a failed collection, with what the command said."""
    if out.exit_status != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        tail = detail[-1][:200] if detail else "no output"
        raise CollectionError(f"'{out.command}' exited {out.exit_status}: {tail}")
    return out.stdout


class LinuxCollector:
    name = "linux"

    def collect(self, target: Target, conn: CommandRunner | None) -> list[Sample]:
        if conn is None:
            raise CollectionError("the linux collector needs an SSH connection")
        df_kb = checked(conn.run(DF_BLOCKS))
        df_in = checked(conn.run(DF_INODES))
        system = parse_system(checked(conn.run(SYSTEM)))
        t = now_ns()
        samples = disk_samples(target.name, filesystems(df_kb, df_in), t)
        samples.append(Sample("system", {"host": target.name}, {
            "load1": system.load1, "load5": system.load5, "load15": system.load15,
            "n_cpus": system.n_cpus, "uptime": int(system.uptime),
        }, t))
        return samples
