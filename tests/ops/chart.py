"""The Helm chart rendered offline: Helm's Go SDK (helm-python-sdk) loads, lints and renders it.

The SDK's wheel carries Helm's library (`libhelm_c`, built from Helm's Go SDK), so nothing is
downloaded at run time and no `helm` binary is needed: a fresh machine with PyPI has all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "saas-crm"
KUBE_VERSION = "1.30.0"
RELEASE = "crm"
NAMESPACE = "crm-prod"

# The value sets every rendering test covers: the chart's defaults and its ci/ files.
VALUE_SETS = {
    "default": None,
    "production": CHART / "ci" / "production-values.yaml",
    "minimal": CHART / "ci" / "minimal-values.yaml",
}


def load_values(path: Path | None) -> dict[str, Any] | None:
    """A values file as Helm parses it (`-f FILE`)."""
    return None if path is None else helm_python.values_from_yaml(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Rendered:
    """The objects of one render, with the notes apart."""

    values: dict[str, Any]
    objects: list[dict[str, Any]]
    notes: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def pod_templates(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, pod spec) of every Deployment and Job."""
        return [
            (o["metadata"]["name"], o["spec"]["template"]["spec"])
            for o in self.objects
            if o["kind"] in ("Deployment", "Job")
        ]


def render(values: dict[str, Any] | None) -> Rendered:
    """Render the chart as `helm install` would (offline: `lookup` finds nothing)."""
    with helm_python.Chart.load(CHART) as chart:
        merged = chart.merge_values(values)
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(merged, objects, notes)


@cache
def rendered(value_set: str) -> Rendered:
    return render(load_values(VALUE_SETS[value_set]))
