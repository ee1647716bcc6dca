"""A fresh install works as the README says: the project's `tests` package cannot be shadowed, the
locks still satisfy pyproject.toml, every module the code imports is a declared dependency, a
plain install (the runtime lock only) runs the commands that broke before, and a Chinese PDF
without a Chinese font is an error, not a file of empty boxes."""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import tests
from tests.helpers import XUNJIAN, cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["core", "agent", "collectors", "checks", "reports", "playbooks"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def lock(name: str) -> dict[str, str]:
    """requirements/NAME.txt → {canonical name: version} for this interpreter and platform.

    The lock is universal: a package may be pinned twice under exclusive markers (numpy for
    Python < 3.12 and ≥ 3.12); the entry whose marker holds here is the one pip installs."""
    text = (ROOT / "requirements" / f"{name}.lock").read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.splitlines()[0]
        if first.startswith("#") or not first.strip():
            continue
        m = PIN.match(first)
        assert m, f"requirements/{name}.lock: not an exact pin: {first!r}"
        assert "--hash=sha256:" in block, f"requirements/{name}.lock: {m[1]} has no hash"
        if m[3] is None or Marker(m[3]).evaluate():
            key = canonicalize_name(m[1])
            assert key not in pins, f"requirements/{name}.lock: {m[1]} pinned twice for this platform"
            pins[key] = m[2]
    return pins


def declared(*extras: str) -> list[Requirement]:
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    return reqs


def test_the_projects_tests_package_wins_over_any_installed_one(tmp_path: Path) -> None:
    # A wheel that installs a top-level `tests` (textfsm 2.1.1 does) must not shadow ours:
    # tests/ is a regular package, found first on the path pytest and `python -m` set up.
    assert Path(tests.__file__).resolve().parent == ROOT / "tests"
    site = tmp_path / "site"
    (site / "tests").mkdir(parents=True)
    (site / "tests" / "__init__.py").write_text("raise ImportError('a third-party tests package')\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", "import tests.peers, tests; print(tests.__file__)"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).resolve() == ROOT / "tests" / "__init__.py"


def test_the_readme_history_command_runs_from_the_venv() -> None:
    assert "python -m tests.history DIR" in (ROOT / "README.md").read_text(encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "tests.history", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "history" in (r.stdout + r.stderr).lower()


@pytest.mark.parametrize(("name", "extras"), [("app", ()), ("test", ("test",))])
def test_the_lock_satisfies_pyproject(name: str, extras: tuple[str, ...]) -> None:
    pins = lock(name)
    env = default_environment()
    for req in declared(*extras):
        if req.marker and not req.marker.evaluate(env):
            continue
        key = canonicalize_name(req.name)
        assert key in pins, f"requirements/{name}.lock lacks {req.name}: run bash scripts/lock.sh"
        assert req.specifier.contains(pins[key], prereleases=True), (
            f"requirements/{name}.lock pins {req.name}=={pins[key]}, pyproject asks {req.specifier}: "
            "run bash scripts/lock.sh")
    build = Requirement(PYPROJECT["build-system"]["requires"][0])
    assert build.specifier.contains(pins[canonicalize_name(build.name)])


def test_the_runtime_lock_is_the_test_locks_runtime_part() -> None:
    app, test = lock("app"), lock("test")
    assert set(app) < set(test)
    assert app == {k: test[k] for k in app}


def test_the_venv_has_the_locked_versions() -> None:
    # setup.sh installs the lock; a drifted venv (pip install -U …) is caught here
    for key, version in lock("test").items():
        assert md.version(key) == version, f"{key}: {md.version(key)} installed, {version} locked"


def imports(package: Path) -> set[str]:
    """Top-level names of every absolute import in a package, including those inside functions."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def undeclared(names: set[str], allowed: set[str]) -> dict[str, list[str]]:
    owners = md.packages_distributions()
    first_party = {*SHIPPED, "tests", "bench"}
    out = {}
    for name in sorted(names - set(sys.stdlib_module_names) - first_party):
        dists = {canonicalize_name(d) for d in owners.get(name, [])}
        if not dists & allowed:
            out[name] = sorted(dists) or ["(not installed)"]
    return out


def test_every_module_the_code_imports_is_a_declared_dependency() -> None:
    runtime = {canonicalize_name(r.name) for r in declared()}
    for pkg in SHIPPED:
        assert not undeclared(imports(ROOT / pkg), runtime), f"{pkg}/ imports undeclared modules"
    with_tests = {canonicalize_name(r.name) for r in declared("test")}
    assert not undeclared(imports(ROOT / "tests"), with_tests)


RUNTIME_ONLY = """\
import importlib.abc, importlib.metadata as md, re, sys
allowed = {re.sub(r"[-_.]+", "-", l.split("==")[0]).lower()
           for l in open(sys.argv[1]) if "==" in l and not l.startswith("#")} | {"xunjian"}
owners = md.packages_distributions()
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the runtime lock)", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["xunjian", *sys.argv[2:]]
from agent.cli.main import main
main()
"""


def test_playbook_apply_runs_with_only_the_runtime_dependencies(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    # As after a plain `pip install .`: any module of a distribution outside requirements/app.lock
    # (test tools, and what they pull in, like click) fails to import.
    from tests.playbook_env import inventory

    inventory(tmp_path, ssh_peer, {"commands": {"hello": {"argv": ["/bin/echo", "hi"]}}})
    (tmp_path / "runtime_only.py").write_text(RUNTIME_ONLY)
    r = subprocess.run([sys.executable, str(tmp_path / "runtime_only.py"), str(ROOT / "requirements/app.lock"),
                        "playbook", "apply", "run-command", "-d", "testhost", "-p", "command=hello",
                        "-i", str(tmp_path / "inventory.yaml"), "--data-dir", str(tmp_path / "var"),
                        "--as", "zhang.wei", "--yes"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "internal error" not in r.stderr
    # and without --yes, end of input is a "no", not a traceback
    r = subprocess.run([sys.executable, str(tmp_path / "runtime_only.py"), str(ROOT / "requirements/app.lock"),
                        "playbook", "apply", "run-command", "-d", "testhost", "-p", "command=hello",
                        "-i", str(tmp_path / "inventory.yaml"), "--data-dir", str(tmp_path / "var"),
                        "--as", "zhang.wei"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                       env={**os.environ, "COLUMNS": "200"})
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode != 0


def no_chinese_fonts(tmp_path: Path) -> dict[str, str]:
    """A fontconfig setup with one Latin font (matplotlib's DejaVu Sans) and no Chinese one."""
    import shutil

    import matplotlib

    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                    f"<fontconfig><dir>{tmp_path / 'fonts'}</dir><cachedir>{tmp_path / 'fc'}</cachedir>"
                    "</fontconfig>\n")
    (tmp_path / "fonts").mkdir()
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf", tmp_path / "fonts")
    return {"FONTCONFIG_FILE": str(conf)}


def test_a_chinese_pdf_without_a_chinese_font_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "ledger.pdf"
    r = cli("report", "ledger", "--day", "2026-11-20", "-f", "pdf", "-o", str(out),
            "--data-dir", str(tmp_path / "var"), cwd=tmp_path, env=no_chinese_fonts(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "apt-get install fonts-noto-cjk" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    # with the fonts in place the same command writes the PDF
    r = cli("report", "ledger", "--day", "2026-11-20", "-f", "pdf", "-o", str(out),
            "--data-dir", str(tmp_path / "var"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"%PDF")


def test_an_english_pdf_without_chinese_text_needs_no_chinese_font(tmp_path: Path) -> None:
    out = tmp_path / "ledger.pdf"
    r = cli("report", "ledger", "--day", "2026-11-20", "-f", "pdf", "--lang", "en", "-o", str(out),
            "--data-dir", str(tmp_path / "var"), cwd=tmp_path, env=no_chinese_fonts(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.read_bytes().startswith(b"%PDF")


def test_the_cli_is_the_installed_one() -> None:
    assert Path(XUNJIAN).exists()
