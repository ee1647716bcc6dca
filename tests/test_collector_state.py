"""A collector's memory survives between cycles (and restarts) through the store."""

from __future__ import annotations

from pathlib import Path

import pytest

import collectors
from agent.executor import Executor
from agent.inventory import load_inventory
from agent.pipeline import Pipeline
from agent.store.db import open_engine
from checks.rules import load_rules
from core.model import CollectionError, Job, Sample, Target


class Counting:
    """Counts its own cycles in its state; fails when told to."""

    fail = False

    def collect(self, target: Target, conn: object) -> list[Sample]:
        target.state["cycles"] = target.state.get("cycles", 0) + 1
        if Counting.fail:
            raise CollectionError("told to fail")
        return [Sample("probe", {"host": target.name}, {"cycles": target.state["cycles"]}, 1)]


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = collectors.CollectorSpec("counting", "local", "test", Counting)
    monkeypatch.setitem(collectors.COLLECTORS, "counting", spec)


def test_state_saved_with_result_and_reloaded(tmp_path: Path, counting: None) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - {name: h, collectors: [counting]}\n")
    inventory = load_inventory(inv)
    engine = open_engine(tmp_path / "var")

    def cycle() -> int:
        # A fresh pipeline and executor each time: as after a restart.
        pipeline = Pipeline(engine, inventory, load_rules(), [])
        result = Executor(pipeline.load_state).run(Job("h", "counting"), inventory.devices["h"])
        pipeline.handle(result)
        return int(result.samples[0].fields["cycles"]) if result.samples else -1

    assert [cycle(), cycle(), cycle()] == [1, 2, 3]
    Counting.fail = True
    try:
        assert cycle() == -1
    finally:
        Counting.fail = False
    assert cycle() == 4  # a failed cycle's half-made memory is not kept
