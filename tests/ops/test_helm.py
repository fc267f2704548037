"""The Helm chart, proven offline: `helm lint`, renders of three value sets validated against the
Kubernetes 1.30 schemas, and the properties the deployment relies on (restricted security context,
probes the application answers, the migration hook, credentials only by reference). A deliberately
broken values file must make lint and render fail, so a broken chart cannot pass unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError

from saas.cli import main as cli
from saas.config import Settings
from tests.ops.chart import CHART, KUBE_VERSION, NAMESPACE, RELEASE, VALUE_SETS, load_values, render, rendered

BROKEN = Path(__file__).resolve().parent / "values"
FULLNAME = f"{RELEASE}-saas-crm"
SECRET_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "SAAS_APP_ROLE_PASSWORD",
    "METRICS_TOKEN",
    "ENCRYPTION_MASTER_KEYS",
)
# Credentials a deployment may leave out (the Secret's key is optional).
OPTIONAL_SECRET_SETTINGS = ("SECRET_KEY_FALLBACKS",)
# Read by uvicorn, not by Settings: which proxies may set the client address (X-Forwarded-For).
PROCESS_SETTINGS = {"FORWARDED_ALLOW_IPS"}
# Objects of custom resource definitions, whose schemas Kubernetes does not ship.
CUSTOM_KINDS = {"ServiceMonitor"}


def setting_names() -> set[str]:
    return {str(field.alias) for field in Settings.model_fields.values() if field.alias}


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


# --- lint and schema validation ------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_passes_strictly(value_set: str) -> None:
    report = helm_python.lint(
        CHART, load_values(VALUE_SETS[value_set]), strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}"
    )
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; 1 (info) is only "icon is recommended".
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_manifest_is_valid_kubernetes_1_30(value_set: str) -> None:
    result = rendered(value_set)
    assert result.objects
    for obj in result.objects:
        if obj["kind"] in CUSTOM_KINDS:
            with pytest.raises(SchemaNotFoundError):
                kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
            continue
        # strict: no property the schema does not know (a misspelt field fails).
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_the_schemas_are_bundled_and_need_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubernetes-validate reads its schemas from the installed package: it validates with no network."""
    import socket

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("kubernetes-validate tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert any(version.startswith("1.30.") for version in kubernetes_validate.utils.all_versions())
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": "http"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSION, strict=True)
    misspelt = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dta": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBE_VERSION, strict=True)


def test_objects_of_each_value_set() -> None:
    kinds = {name: sorted(o["kind"] for o in rendered(name).objects) for name in VALUE_SETS}
    assert kinds["default"] == sorted(
        ["ServiceAccount", "ConfigMap", "Service", "Deployment", "Deployment", "Deployment", "Job"]
        + ["PodDisruptionBudget"] * 2
    )
    assert kinds["production"] == sorted(
        ["ServiceAccount", "ConfigMap", "Service", "Ingress", "ServiceMonitor", "Job"]
        + ["Deployment"] * 3
        + ["HorizontalPodAutoscaler"] * 2
        + ["PodDisruptionBudget"] * 2
    )
    assert kinds["minimal"] == sorted(["ConfigMap", "Service", "Deployment", "Deployment", "Deployment"])
    # Nothing secret is ever rendered: credentials live in a Secret the operator creates.
    assert all(o["kind"] != "Secret" for name in VALUE_SETS for o in rendered(name).objects)


# --- deliberately broken values --------------------------------------------------------------------


def test_values_of_the_wrong_type_fail_lint_and_render() -> None:
    values = load_values(BROKEN / "broken-types.yaml")
    report = helm_python.lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert any("/api/replicas" in error for error in report["errors"]), report
    assert any("workers" in error for error in report["errors"]), report
    with pytest.raises(helm_python.HelmValuesError, match="/api/replicas"):
        render(values)


def test_a_credential_among_the_settings_fails_the_render() -> None:
    """The ConfigMap can never carry a credential: the templates refuse it by name.

    (`helm lint` renders in lint mode, where `fail` only logs, so the render is the proof.)
    """
    with pytest.raises(helm_python.HelmRenderError, match=r"settings\.SECRET_KEY holds a credential"):
        render(load_values(BROKEN / "broken-secret-in-settings.yaml"))


def test_a_broken_template_fails_the_render(tmp_path: Path) -> None:
    """The render is Helm's own: a template error is an error, not an empty manifest."""
    with helm_python.Chart.load(CHART) as chart:
        copy = Path(chart.save_dir(tmp_path))
    (copy / "templates" / "service.yaml").write_text("{{ .Values.service.port | nosuchfunction }}\n")
    with helm_python.Chart.load(copy) as broken, pytest.raises(helm_python.HelmError):
        broken.render(name=RELEASE)
    report = helm_python.lint(copy, strict=True)
    assert report["errors"], report


# --- security context -------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_pod_runs_restricted_with_a_read_only_root(value_set: str) -> None:
    pods = rendered(value_set).pod_templates()
    assert pods
    for name, pod in pods:
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in containers(pod):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["privileged"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            # /tmp is the one writable path, an emptyDir.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name


# --- commands, probes and the migration hook ---------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_each_process_runs_a_real_saas_command(value_set: str) -> None:
    result = rendered(value_set)
    expected = {"api": "serve", "worker": "worker", "scheduler": "scheduler", "migrate": "migrate"}
    seen = set()
    for name, pod in result.pod_templates():
        (container,) = pod["containers"]
        assert container["command"] == ["saas"]
        command, *options = container["args"]
        assert command == expected[container["name"]], name
        seen.add(container["name"])
        click_command = cli.commands[command]
        known = {opt for param in click_command.params for opt in param.opts}
        assert {o for o in options if o.startswith("--")} <= known, (name, options)
    assert {"api", "worker", "scheduler"} <= seen


def api_container(value_set: str) -> dict[str, Any]:
    deployment = rendered(value_set).named("Deployment", f"{FULLNAME}-api")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_api_is_probed_on_healthz_and_readyz(value_set: str) -> None:
    container = api_container(value_set)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    (port,) = container["ports"]
    assert port["name"] == "http"
    args = container["args"]
    assert args[args.index("--port") + 1] == str(port["containerPort"])
    assert args[args.index("--host") + 1] == "0.0.0.0"


def test_the_probed_paths_answer_from_the_application(runtime: Any, graphql_engine: Any) -> None:
    """The paths the chart probes and scrapes are the application's: 200 with PostgreSQL and Redis up."""
    from starlette.testclient import TestClient

    from saas.http import create_app

    container = api_container("production")
    paths = {container["livenessProbe"]["httpGet"]["path"], container["readinessProbe"]["httpGet"]["path"]}
    monitor = rendered("production").of_kind("ServiceMonitor")[0]
    paths |= {endpoint["path"] for endpoint in monitor["spec"]["endpoints"]}
    with TestClient(create_app(runtime, graphql_engine)) as client:
        for path in sorted(paths):
            assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("value_set", ["default", "production"])
def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(value_set: str) -> None:
    job = rendered(value_set).named("Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    # A hook runs before the release's objects exist: no ConfigMap, no chart service account.
    assert "serviceAccountName" not in pod
    (container,) = pod["containers"]
    assert "envFrom" not in container
    env = env_of(container)
    assert env["SAAS_ENV"]["value"] == "production"
    # The schema owner's URL, which the servers never get.
    database = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"]
    assert database == rendered(value_set).values["secrets"]["migrationDatabaseUrlKey"]
    for name in ("api", "worker", "scheduler"):
        deployment = rendered(value_set).named("Deployment", f"{FULLNAME}-{name}")
        (server,) = deployment["spec"]["template"]["spec"]["containers"]
        assert env_of(server)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] != database


def test_the_scheduler_is_one_replica_or_a_stand_by_and_never_autoscaled() -> None:
    for value_set in VALUE_SETS:
        result = rendered(value_set)
        scheduler = result.named("Deployment", f"{FULLNAME}-scheduler")
        assert scheduler["spec"]["replicas"] in (1, 2)
        targets = {h["spec"]["scaleTargetRef"]["name"] for h in result.of_kind("HorizontalPodAutoscaler")}
        assert f"{FULLNAME}-scheduler" not in targets


def test_autoscaled_deployments_leave_their_replicas_to_the_hpa() -> None:
    result = rendered("production")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in result.of_kind("HorizontalPodAutoscaler")}
    assert set(hpas) == {f"{FULLNAME}-api", f"{FULLNAME}-worker"}
    for name, hpa in hpas.items():
        assert "replicas" not in result.named("Deployment", name)["spec"]
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


# --- selectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_service_budgets_and_monitor_select_the_right_pods(value_set: str) -> None:
    result = rendered(value_set)
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in result.of_kind("Deployment")}

    def selects(selector: dict[str, str]) -> set[str]:
        return {name for name, labels in pods.items() if selector.items() <= labels.items()}

    for deployment in result.of_kind("Deployment"):
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pods[deployment["metadata"]["name"]].items()
    (service,) = result.of_kind("Service")
    assert selects(service["spec"]["selector"]) == {f"{FULLNAME}-api"}
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    for budget in result.of_kind("PodDisruptionBudget"):
        assert selects(budget["spec"]["selector"]["matchLabels"]) == {budget["metadata"]["name"]}
    for ingress in result.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    for monitor in result.of_kind("ServiceMonitor"):
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == service["spec"]["ports"][0]["name"]


# --- settings and secrets ------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_configmap_holds_real_settings_and_no_credential(value_set: str) -> None:
    (config_map,) = rendered(value_set).of_kind("ConfigMap")
    data = config_map["data"]
    assert data, "the settings are in the ConfigMap"
    assert set(data) <= setting_names() | PROCESS_SETTINGS, set(data) - setting_names()
    assert not set(data) & set(SECRET_SETTINGS)
    assert all(isinstance(value, str) for value in data.values())
    assert data["SAAS_ENV"] == "production"


def test_the_secret_settings_are_the_applications() -> None:
    assert set(SECRET_SETTINGS) | set(OPTIONAL_SECRET_SETTINGS) <= setting_names()
    secret_fields = {str(f.alias) for f in Settings.model_fields.values() if f.repr is False}
    # Every setting kept out of repr (a credential) comes from the Secret.
    assert secret_fields <= set(SECRET_SETTINGS) | set(OPTIONAL_SECRET_SETTINGS)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_process_takes_credentials_by_reference_from_the_secret(value_set: str) -> None:
    result = rendered(value_set)
    secret = result.values["secrets"]["existingSecret"] or FULLNAME
    for name, pod in result.pod_templates():
        for container in containers(pod):
            env = env_of(container)
            for setting in SECRET_SETTINGS:
                reference = env[setting]["valueFrom"]["secretKeyRef"]
                assert "value" not in env[setting], (name, setting)
                assert reference["name"] == secret, (name, setting)
                assert not reference.get("optional", False), (name, setting)
            for setting in OPTIONAL_SECRET_SETTINGS:
                reference = env[setting]["valueFrom"]["secretKeyRef"]
                assert reference["name"] == secret and reference["optional"] is True, (name, setting)
    for monitor in result.of_kind("ServiceMonitor"):
        credentials = monitor["spec"]["endpoints"][0]["authorization"]["credentials"]
        assert credentials == {"name": secret, "key": result.values["secrets"]["keys"]["METRICS_TOKEN"]}


def test_settings_changes_roll_the_pods() -> None:
    """The pods carry the settings' checksum, so `helm upgrade` with new settings restarts them."""
    before = rendered("default").named("Deployment", f"{FULLNAME}-api")
    after = render({"settings": {"LOG_LEVEL": "DEBUG"}}).named("Deployment", f"{FULLNAME}-api")
    key = "checksum/settings"
    assert (
        before["spec"]["template"]["metadata"]["annotations"][key]
        != (after["spec"]["template"]["metadata"]["annotations"][key])
    )


def test_notes_tell_how_to_reach_the_api() -> None:
    assert "port-forward" in rendered("default").notes
    assert "https://crm.example.com/graphql" in rendered("production").notes
