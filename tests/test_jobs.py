"""Jobs and results as plain data: a job written from the inventory carries no secret, survives
JSON, and runs in another process (`python -m agent.jobs`) against the real sshd, giving the
result the executor gives in this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.executor import Executor
from agent.inventory import load_inventory
from agent.jobs import job_for
from core.model import Job, Result, Sample, Status
from tests.sshdev import write_inventory

PASSWORD = "job-secret-Ua7#x"


def run_elsewhere(job: Job, secrets: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "agent.jobs", *(["--secrets", str(secrets)] if secrets else [])]
    return subprocess.run(args, input=json.dumps(job.to_dict()), capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parent.parent)


def test_job_and_result_round_trip_through_json() -> None:
    job = Job("db01", "oracle", {"why": "ad hoc"}, 1_765_000_000.0,
              {"kind": "server", "address": "10.0.0.5", "port": 22,
               "ssh": {"user": "ops", "password": "${secret:db01}"}, "settings": {}}, {"pos": 12})
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    result = Result("db01", "oracle", Status.CRIT, [Sample("m", {"host": "db01"}, {"v": 1.5, "s": "x"}, 7, "raw")],
                    "why", 1.0, 0.5, "evidence", {"pos": 13}, "ok")
    back = Result.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result


def test_a_job_runs_in_another_process_as_here(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    inv = write_inventory(tmp_path, ssh_peer, ["linux", "oracle"],
                          {"oracle": {"oracle_home": "/nonexistent/ora", "sid": "ORCL", "user": "system",
                                      "password": "${secret:ora}"}},
                          secrets={"ora": PASSWORD})
    device = load_inventory(inv).devices["testhost"]
    job = job_for(device, "linux", tick=1_765_000_000.0, state={})
    text = json.dumps(job.to_dict())
    assert job.target["address"] == ssh_peer.host and job.target["ssh"]["user"] == ssh_peer.user

    done = run_elsewhere(Job.from_dict(json.loads(text)))
    assert done.returncode == 0, done.stderr
    there = Result.from_dict(json.loads(done.stdout))
    here = Executor().run(Job("testhost", "linux"), device)
    assert there.status is Status.OK and here.status is Status.OK, (there.reason, here.reason)
    assert there.connect == "ok"
    assert {s.measurement for s in there.samples} == {s.measurement for s in here.samples}
    assert "disk" in {s.measurement for s in there.samples}
    assert there.state is not None and {"cpu", "boot_time"} <= set(there.state)  # memory travels back

    # The oracle job: its password travels as a reference and resolves from the site's secrets.
    ora = job_for(device, "oracle")
    assert PASSWORD not in json.dumps(ora.to_dict())
    assert ora.target["settings"]["oracle"]["password"] == "${secret:ora}"
    no_secrets = run_elsewhere(ora)
    assert no_secrets.returncode == 2
    assert "settings.oracle.password" in no_secrets.stderr and "Traceback" not in no_secrets.stderr
    site = tmp_path / "site-secrets.yaml"
    site.write_text(json.dumps({"ora": PASSWORD}))
    site.chmod(0o600)
    ran = run_elsewhere(ora, site)
    assert ran.returncode == 0, ran.stderr
    result = Result.from_dict(json.loads(ran.stdout))
    assert result.status is Status.UNKNOWN and "sqlplus" in result.reason  # no Oracle there: said
    assert PASSWORD not in ran.stdout + ran.stderr


def test_bad_job_is_one_message(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "agent.jobs"], input="{not json", capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert done.returncode == 2 and "a job as JSON expected" in done.stderr
    assert "Traceback" not in done.stderr
