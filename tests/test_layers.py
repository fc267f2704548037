"""The layering stays true: `import-linter` checks the contracts in pyproject.toml.

db, tenancy, auth and audit import no domain; accounts sits above auth and audit, which sit
above tenancy and import neither each other nor accounts; customers sit above accounts, which
import nothing of customers. An import that would bring back a cycle (auth <-> tenancy,
audit <-> auth, accounts <-> customers) breaks a contract and fails this test.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint(monkeypatch: pytest.MonkeyPatch, config: Path) -> int:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    return lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


def test_the_layering_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    assert {c["id"] for c in contracts} >= {
        "bottom-layers",
        "accounts-over-auth-audit-tenancy",
        "accounts-below-customers",
    }
    exit_code = _lint(monkeypatch, PYPROJECT)
    assert exit_code == 0, capsys.readouterr().out


def test_an_import_against_the_layers_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same check fails on a real upward import: accounts (above) imports tenancy (below),
    so a contract that puts tenancy above accounts must break."""
    config = tmp_path / "inverted.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "saas"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "inverted"\ntype = "layers"\nlayers = ["saas.tenancy", "saas.accounts"]\n'
    )
    assert _lint(monkeypatch, config) == 1
    assert "saas.accounts" in capsys.readouterr().out


def test_accounts_import_nothing_of_customers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The contract names the direction: accounts may not import customers, even through the
    shared kit; its one exception is the request context's type-only reference to the runtime.
    The same contract turned round (customers may not import accounts) breaks, since customers
    do use accounts (a customer's owner is a Member): the check sees the imports between them."""
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["id"] == "accounts-below-customers")
    assert contract["type"] == "forbidden"
    assert contract["source_modules"] == ["saas.accounts"]
    assert contract["forbidden_modules"] == ["saas.customers"]
    assert contract["ignore_imports"] == ["saas.schema.context -> saas.runtime"]
    # ... and that import is for type checkers only: it runs nothing when the context is imported.
    runtime_graph = grimp.build_graph("saas", cache_dir=None, exclude_type_checking_imports=True)
    assert runtime_graph.direct_import_exists(importer="saas.schema.context", imported="saas.runtime") is False

    config = tmp_path / "reversed.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "saas"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "reversed"\ntype = "forbidden"\n'
        'source_modules = ["saas.customers"]\nforbidden_modules = ["saas.accounts"]\n'
    )
    assert _lint(monkeypatch, config) == 1
    assert "saas.customers" in capsys.readouterr().out
