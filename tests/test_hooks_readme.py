"""The README's hooks examples are valid configuration (and the level-1 route does what it says)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from agent.config import load_config
from agent.hooks import routing
from tests.helpers import user_docs

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_hooks_examples_load(tmp_path: Path) -> None:
    text = user_docs()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    main = next(b for b in blocks if b.startswith("# xunjian.yaml\nsecrets_file") and "hooks:" in b)
    more = next(b for b in blocks if b.startswith("    alerts-am:"))
    raw = yaml.safe_load(main)
    raw["hooks"]["channels"].update(yaml.safe_load("\n".join(line[4:] for line in more.splitlines())))
    raw["data_dir"] = "var"
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({k: f"value-of-{k}" for k in ("dingtalk_token", "dingtalk_sign", "jira_token",
                                                         "snow_password", "wecom_key", "smtp_password",
                                                         "ops_api_token")}))
    secrets.chmod(0o600)
    (tmp_path / "ca.pem").write_text("")
    raw["hooks"]["channels"]["in-house"]["ca_file"] = "ca.pem"
    cfg_file = tmp_path / "xunjian.yaml"
    cfg_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
    cfg = load_config(cfg_file, env={"ALERT_GW_TOKEN": "t"})
    hooks = cfg.hooks
    assert {c.model.type for c in hooks.channels.values()} == {
        "dingtalk", "jira", "alertmanager", "servicenow", "wecom", "email", "script", "webhook"}
    facts = routing.device_facts(None)
    (route,) = routing.select(hooks.routes, "open", 1, facts)
    assert route.channels == ("noc-dingtalk", "jira-ops")
    assert routing.select(hooks.routes, "open", 2, facts) == []
    assert "value-of-" not in repr(cfg)  # resolved secrets never show
