"""The Dockerfile, checked without building it (no base image can be pulled here): multi-stage,
the core and every distribution in plugins/ installed, a numeric non-root user that the chart's
security context names, the port and command the chart runs, and a build context that keeps the
sources in and local environments out.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.ops.chart import ROOT, rendered

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    result = []
    for line in lines:
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_the_build_has_two_stages_and_the_runtime_copies_only_the_environment() -> None:
    stages = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert len(stages) == 2
    assert all(re.search(r"\bAS\s+\w+", stage, re.IGNORECASE) for stage in stages)
    copies = [rest for keyword, rest in final_stage() if keyword == "COPY"]
    assert copies == ["--from=build /opt/saas /opt/saas"]


def test_the_image_installs_the_core_and_every_plugin_distribution() -> None:
    (install,) = [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]
    words = shlex.split(install.split("&&")[0])
    targets = words[words.index("install") + 1 :]
    installed = set()
    for target in targets:
        installed |= {Path(p).resolve() for p in glob.glob(str(ROOT / target))}
    plugins = {p.parent.resolve() for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert plugins, "the repository ships plugins"
    assert installed == {ROOT.resolve()} | plugins
    copied = {shlex.split(rest)[-2] for keyword, rest in instructions() if keyword == "COPY" and "--from" not in rest}
    assert {"saas", "plugins"} <= copied


def test_every_plugin_it_installs_is_a_plugin_the_host_loads() -> None:
    for pyproject in ROOT.glob("plugins/*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        assert project["entry-points"]["saas.plugins"], pyproject


def test_the_runtime_user_is_numeric_non_root_and_the_charts() -> None:
    (user,) = [rest for keyword, rest in final_stage() if keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    pod = rendered("default").pod_templates()[0][1]
    assert pod["securityContext"]["runAsUser"] == int(uid)
    assert pod["securityContext"]["runAsGroup"] == int(gid)


def test_the_port_and_default_command_are_the_charts() -> None:
    (exposed,) = [rest for keyword, rest in final_stage() if keyword == "EXPOSE"]
    (cmd,) = [rest for keyword, rest in final_stage() if keyword == "CMD"]
    command = json.loads(cmd)
    assert command[:2] == ["saas", "serve"]
    assert command[command.index("--port") + 1] == exposed
    assert rendered("default").values["api"]["port"] == int(exposed)


def test_the_charts_default_image_is_this_build_at_the_projects_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    chart = rendered("default")
    images = {c["image"] for _, pod in chart.pod_templates() for c in pod["containers"]}
    assert images == {f"saas-crm:{version}"}
    assert f"docker build -t saas-crm:{version} ." in DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("pyproject.toml", True),
        ("README.md", True),
        ("saas/cli.py", True),
        ("saas/migrations/versions/0001_initial.py", True),
        ("plugins/manufacturing/pyproject.toml", True),
        ("plugins/manufacturing/src/saas_manufacturing/hooks.py", True),
        (".venv/bin/python", False),
        (".data/postgres/PG_VERSION", False),
        ("saas/__pycache__/cli.cpython-311.pyc", False),
        ("tests/conftest.py", False),
        (".git/HEAD", False),
        ("plugins/manufacturing/tests/test_orders.py", False),
    ],
)
def test_the_build_context_keeps_the_sources_and_drops_the_rest(path: str, kept: bool) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def matches(pattern: str, candidate: str) -> bool:
        if pattern.startswith("**/"):  # at any depth
            parts = candidate.split("/")
            return any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern[3:]) for i in range(len(parts)))
        return fnmatch.fnmatchcase(candidate, pattern)

    def ignored(candidate: str) -> bool:
        """Docker leaves out a path when it, or a folder above it, matches a pattern."""
        parts = candidate.split("/")
        return any(matches(p, "/".join(parts[: i + 1])) for p in patterns for i in range(len(parts)))

    assert ignored(path) is not kept
