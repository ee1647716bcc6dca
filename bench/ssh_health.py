"""Former name of bench/bench_ssh.py (kept so old notes and scripts still work).

    .venv/bin/python -m bench.ssh_health [--hosts 200] [--parallel 50] [--json]
"""

from __future__ import annotations

from bench.bench_ssh import main

if __name__ == "__main__":
    main()
