"""Shared by the benchmarks: machine description, CPU time, result sections."""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} × {model}, {mem:.0f} GiB, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


@dataclass
class Timing:
    wall: float = 0.0
    cpu: float = 0.0  # this process, user + system
    children_cpu: float = 0.0  # waited-for child processes, user + system


@contextmanager
def timed() -> Iterator[Timing]:
    t = Timing()
    self0, kids0, w0 = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN),
                        time.perf_counter())
    yield t
    self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t.wall = time.perf_counter() - w0
    t.cpu = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    t.children_cpu = (kids1.ru_utime - kids0.ru_utime) + (kids1.ru_stime - kids0.ru_stime)


def section(title: str, lines: list[str]) -> str:
    """A RESULTS.md section; run_all.py collects them."""
    return "\n".join([f"### {title}", "", *lines, ""])
