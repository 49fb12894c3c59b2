"""The Kubernetes manifests under deploy/k8s, rendered by kustomize and checked.

Every kustomization (the base and each overlay) is built with the real kustomize
(deploy/k8s/install-kustomize.sh installs the pinned version into deploy/k8s/.local/bin).
Each resulting object is validated against the OpenAPI schemas of Kubernetes
KUBERNETES_VERSION (kubernetes-validate, strict: unknown fields are errors), and against
the platform's own rules: probes, resources, security, ports, autoscalers, images, secrets
and topics.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from contracts.topics import RECIPIENT_RESOLVED, all_topics
from servicekit.tokens import TokenCodec

KUBERNETES_VERSION = "1.35"

K8S = Path(__file__).resolve().parents[1]
ROOT = K8S.parents[1]
INSTALL_SCRIPT = "deploy/k8s/install-kustomize.sh"

# The platform's services: one Deployment each, in every kustomization.
SERVICES = {
    "composer": 8001,
    "recipients": 8002,
    "delivery": 8003,
    "tracking": 8004,
    "notifier": 8005,
    "console": 8000,
}
AUTOSCALED = ("delivery", "tracking")
# Graceful stop after SIGTERM, in seconds (servicekit.http.serve; tracking waits for its
# sibling processes up to 25 s).
GRACEFUL_STOP = {name: 20 for name in SERVICES} | {"tracking": 25}
# Custom resources that the Kubernetes schemas do not describe, checked by hand below.
CUSTOM_KINDS = {("kafka.strimzi.io/v1", "KafkaTopic")}


# ---------------------------------------------------------------------------- rendering


def kustomizations() -> list[str]:
    """Every directory under deploy/k8s that kustomize can build (not the components)."""
    found = []
    for path in sorted(K8S.rglob("kustomization.yaml")):
        if ".local" in path.parts:
            continue
        if yaml.safe_load(path.read_text()).get("kind") == "Component":
            continue
        found.append(path.parent.relative_to(K8S).as_posix())
    return found


KUSTOMIZATIONS = kustomizations()
# Those that install the platform (the others hold infrastructure objects, e.g. topics).
PLATFORM = [k for k in KUSTOMIZATIONS if k == "base" or k.count("/") == 1]


@functools.cache
def kustomize_binary() -> str:
    candidates = [os.environ.get("KUSTOMIZE", ""), str(K8S / ".local" / "bin" / "kustomize")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("kustomize")
    if on_path:
        return on_path
    pytest.fail(
        f"kustomize not found (looked at $KUSTOMIZE, deploy/k8s/.local/bin and PATH): "
        f"run {INSTALL_SCRIPT} first; it builds the pinned version with Go",
        pytrace=False,
    )


@functools.cache
def render(kustomization: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kustomize_binary(), "build", str(K8S / kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize build {kustomization} failed:\n{result.stderr}", pytrace=False)
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every Deployment and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def service_deployment(docs: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    deployments = of_kind(docs, "Deployment")
    assert name in deployments, f"no Deployment {name}"
    return deployments[name]


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    name = deployment["metadata"]["name"]
    by_name = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert name in by_name, f"Deployment {name} has no container named {name}"
    return by_name[name]


def generated(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any] | None:
    """The object `name`, or the one kustomize generated from it (`name-<hash>`)."""
    for doc_name, doc in of_kind(docs, kind).items():
        if doc_name == name or re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", doc_name):
            return doc
    return None


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number (bytes for memory, cores for CPU)."""
    text = str(value)
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in suffixes.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def test_every_kustomization_is_found() -> None:
    expected = {"base", "overlays/dev", "overlays/production", "overlays/production/kafka-topics"}
    assert expected <= set(KUSTOMIZATIONS)


# ---------------------------------------------------------------------------- schemas


def check_kafka_topic(doc: dict[str, Any]) -> list[str]:
    spec = doc.get("spec", {})
    problems = []
    if set(doc) - {"apiVersion", "kind", "metadata", "spec"}:
        problems.append("unexpected top-level fields")
    if not doc["metadata"].get("labels", {}).get("strimzi.io/cluster"):
        problems.append("no strimzi.io/cluster label")
    if set(spec) - {"topicName", "partitions", "replicas", "config"}:
        problems.append(f"unknown spec fields {sorted(set(spec))}")
    for field in ("partitions", "replicas"):
        if not isinstance(spec.get(field), int) or spec[field] < 1:
            problems.append(f"spec.{field} must be a positive integer")
    return problems


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_objects_match_the_kubernetes_schemas(kustomization: str) -> None:
    errors = []
    for doc in render(kustomization):
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            errors += [f"{where}: {p}" for p in check_kafka_topic(doc)]
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{where}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{where}: {exc.message}")
    assert not errors, f"{kustomization} against Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(
        errors
    )


def duplicates(values: list[Any]) -> list[Any]:
    return sorted({v for v in values if values.count(v) > 1}, key=str)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_names_are_unique(kustomization: str) -> None:
    """What the schemas cannot see and the API server refuses (or silently overrides)."""
    docs = render(kustomization)
    assert not duplicates([(d["kind"], d["metadata"]["name"]) for d in docs])
    for name, service in of_kind(docs, "Service").items():
        ports = service["spec"].get("ports", [])
        assert not duplicates([p.get("name") for p in ports]), f"Service {name}: port names"
        assert not duplicates([p["port"] for p in ports]), f"Service {name}: port numbers"
    for where, pod in workloads(docs):
        assert not duplicates([c["name"] for c in containers(pod)]), where
        assert not duplicates([v["name"] for v in pod.get("volumes", [])]), where
        for container in containers(pod):
            ports = container.get("ports", [])
            label = f"{where}/{container['name']}"
            assert not duplicates([p.get("name") for p in ports if "name" in p]), label
            assert not duplicates([p["containerPort"] for p in ports]), label
            assert not duplicates([e["name"] for e in container.get("env", [])]), label


# ---------------------------------------------------------------------------- workloads


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_every_service_has_a_deployment_and_a_service(kustomization: str) -> None:
    docs = render(kustomization)
    for name, port in SERVICES.items():
        container = main_container(service_deployment(docs, name))
        assert container["command"] == ["python", "-m", name]
        assert {"name": "http", "containerPort": port} in container["ports"]
        assert name in of_kind(docs, "Service"), f"no Service {name}"


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_deployments_probe_healthz(kustomization: str) -> None:
    for name, deployment in of_kind(render(kustomization), "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            ports = {p.get("name") for p in container.get("ports", [])}
            ports |= {p["containerPort"] for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                get = container.get(probe, {}).get("httpGet")
                assert get, f"{name}/{container['name']}: no HTTP {probe}"
                assert get["path"] == "/healthz", f"{name}: {probe} on {get['path']}"
                assert get["port"] in ports, f"{name}: {probe} on undeclared port {get['port']}"


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_containers_have_requests_and_limits(kustomization: str) -> None:
    for where, pod in workloads(render(kustomization)):
        for container in containers(pod):
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request and limit, f"{where}/{container['name']}: no {resource} bounds"
                assert quantity(request) <= quantity(limit), f"{where}: {resource} request>limit"


def peak_rss_mib() -> dict[str, float]:
    figures = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    peaks = {}
    for name in SERVICES:
        measured = [
            v
            for k, v in figures.items()
            if k == f"rss_mb.{name}" or (k.startswith(f"{name}.") and k.endswith("peak_rss_mb"))
        ]
        if measured:
            peaks[name] = max(measured)
    return peaks


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_memory_requests_cover_the_benchmarks_peak_rss(kustomization: str) -> None:
    peaks = peak_rss_mib()
    assert {"composer", "recipients", "delivery", "tracking", "notifier"} <= set(peaks)
    docs = render(kustomization)
    for name, peak in peaks.items():
        resources = main_container(service_deployment(docs, name))["resources"]
        request = quantity(resources["requests"]["memory"]) / 2**20
        limit = quantity(resources["limits"]["memory"]) / 2**20
        assert request >= 1.25 * peak, f"{name}: {request:.0f} Mi for a peak of {peak} MiB"
        assert limit >= 2 * peak, f"{name}: limit {limit:.0f} Mi for a peak of {peak} MiB"


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_pods_run_unprivileged(kustomization: str) -> None:
    for where, pod in workloads(render(kustomization)):
        pod_security = pod.get("securityContext", {})
        assert pod.get("automountServiceAccountToken") is False, where
        assert pod.get("enableServiceLinks") is False, f"{where}: service links clash with env"
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for container in containers(pod):
            security = {**pod_security, **container.get("securityContext", {})}
            label = f"{where}/{container['name']}"
            assert security.get("runAsNonRoot") is True, f"{label}: may run as root"
            assert security.get("runAsUser", 1) != 0, f"{label}: runs as uid 0"
            assert security.get("allowPrivilegeEscalation") is False, label
            assert security.get("readOnlyRootFilesystem") is True, label
            assert security.get("capabilities", {}).get("drop") == ["ALL"], label
            assert not security.get("privileged"), label


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_termination_grace_exceeds_the_graceful_stop(kustomization: str) -> None:
    docs = render(kustomization)
    for name, stop in GRACEFUL_STOP.items():
        deployment = service_deployment(docs, name)
        pod = deployment["spec"]["template"]["spec"]
        pre_stop = main_container(deployment).get("lifecycle", {}).get("preStop", {})
        pause = pre_stop.get("sleep", {}).get("seconds", 0)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        assert grace > pause + stop, f"{name}: {grace} s for {pause} s pause + {stop} s stop"


def image_tag(image: str) -> str:
    """The tag of an image reference, or its digest; empty when it has neither."""
    if "@" in image:
        return image.partition("@")[2]
    return image.rpartition("/")[2].partition(":")[2]


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_one_image_with_a_pinned_tag(kustomization: str) -> None:
    images = set()
    for where, pod in workloads(render(kustomization)):
        for container in containers(pod):
            image = container["image"]
            assert image_tag(image), f"{where}: {image} has no tag (means latest)"
            assert image_tag(image) != "latest", f"{where}: {image} uses latest"
            images.add(image)
    assert len(images) == 1, f"{kustomization}: one image for every container, got {images}"
    assert re.search(r"(^|/)bulkmail[:@]", images.pop())


# ---------------------------------------------------------------------------- networking


def selected(deployments: dict[str, dict[str, Any]], selector: dict[str, str]) -> list[str]:
    return [
        name
        for name, d in deployments.items()
        if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_service_ports_exist_in_their_pods(kustomization: str) -> None:
    docs = render(kustomization)
    deployments = of_kind(docs, "Deployment")
    for name, service in of_kind(docs, "Service").items():
        spec = service["spec"]
        if spec.get("type") == "ExternalName":
            assert spec.get("externalName"), f"Service {name}: ExternalName without a host"
            continue
        targets = selected(deployments, spec["selector"])
        assert targets, f"Service {name} selects no Deployment"
        for target in targets:
            pod_ports = [
                p
                for c in deployments[target]["spec"]["template"]["spec"]["containers"]
                for p in c.get("ports", [])
            ]
            for port in spec["ports"]:
                wanted = port.get("targetPort", port["port"])
                assert any(wanted in (p.get("name"), p["containerPort"]) for p in pod_ports), (
                    f"Service {name} port {port['port']} -> {wanted}: not a port of {target}"
                )


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_ingresses_reach_existing_service_ports(kustomization: str) -> None:
    docs = render(kustomization)
    services = of_kind(docs, "Service")
    ingresses = of_kind(docs, "Ingress")
    assert {"tracking", "console"} <= set(ingresses)
    for name, ingress in ingresses.items():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, f"Ingress {name}: no Service {backend}"
                ports = services[backend["name"]]["spec"]["ports"]
                port = backend["port"]
                assert any(
                    port.get("name") == p.get("name") or port.get("number") == p["port"]
                    for p in ports
                ), f"Ingress {name}: {backend} has no such port"
    # Only the paths written into mails are public; /metrics, /docs and /healthz are not.
    tracking_paths = {
        p["path"] for r in ingresses["tracking"]["spec"]["rules"] for p in r["http"]["paths"]
    }
    assert tracking_paths == {"/o/", "/c/", "/u/"}


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_tracking_base_url_is_the_tracking_ingress(kustomization: str) -> None:
    docs = render(kustomization)
    config = generated(docs, "ConfigMap", "bulkmail-config")
    assert config is not None
    base_url = urlsplit(config["data"]["TRACKING_BASE_URL"])
    hosts = {r["host"] for r in of_kind(docs, "Ingress")["tracking"]["spec"]["rules"]}
    assert base_url.scheme == "https"
    assert {base_url.hostname} == hosts


# ---------------------------------------------------------------------------- autoscaling


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_autoscalers_target_existing_deployments(kustomization: str) -> None:
    docs = render(kustomization)
    deployments = of_kind(docs, "Deployment")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    assert set(AUTOSCALED) <= {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers.values()}
    partitions = {t.name: t.partitions for t in all_topics()}
    for name, hpa in autoscalers.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        spec = hpa["spec"]
        ref = spec["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment"), name
        assert ref["name"] in deployments, f"HPA {name} targets missing {ref['name']}"
        assert 1 <= spec.get("minReplicas", 1) <= spec["maxReplicas"], name
        # An apply would reset what the autoscaler chose.
        assert "replicas" not in deployments[ref["name"]]["spec"], f"{ref['name']}: replicas"
        for metric in spec["metrics"]:
            if metric["type"] == "Resource":
                resource = metric["resource"]["name"]
                container = main_container(deployments[ref["name"]])
                assert resource in container["resources"]["requests"], f"{name}: no {resource}"
        if ref["name"] == "delivery":
            assert spec["maxReplicas"] <= partitions[RECIPIENT_RESOLVED], "idle consumers"


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_disruption_budgets_cover_the_autoscaled(kustomization: str) -> None:
    docs = render(kustomization)
    deployments = of_kind(docs, "Deployment")
    covered = []
    for name, pdb in of_kind(docs, "PodDisruptionBudget").items():
        targets = selected(deployments, pdb["spec"]["selector"]["matchLabels"])
        assert len(targets) == 1, f"PDB {name} selects {targets}"
        covered += targets
    assert set(AUTOSCALED) <= set(covered)


# ---------------------------------------------------------------------------- configuration


def example_secrets(*, filled_in: bool = False) -> tuple[dict[str, Any], ...]:
    """The example Secrets; `filled_in`: as an operator completes them, every placeholder
    replaced by a strong random value (the services refuse the placeholders themselves)."""
    text = (K8S / "overlays" / "production" / "secrets.example.yaml").read_text()
    if filled_in:
        text = re.sub(r"REPLACE-[A-Z0-9-]*", lambda _: secrets.token_hex(32), text)
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    import base64

    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return data | secret.get("stringData", {})


def container_env(docs: tuple[dict[str, Any], ...], container: dict[str, Any]) -> dict[str, str]:
    """The environment the kubelet gives `container`: envFrom, then env with $(VAR) expanded
    from what is defined before it."""

    def source(kind: str, name: str) -> dict[str, str]:
        doc = generated(docs, kind, name)
        assert doc is not None, f"{container['name']}: no {kind} {name}"
        return secret_data(doc) if kind == "Secret" else doc.get("data", {})

    env: dict[str, str] = {}
    for item in container.get("envFrom", []):
        if "configMapRef" in item:
            env |= source("ConfigMap", item["configMapRef"]["name"])
        if "secretRef" in item:
            env |= source("Secret", item["secretRef"]["name"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda m: env.get(m.group(1), m.group(0)),
                item["value"],
            )
            continue
        ref = item["valueFrom"]
        if "fieldRef" in ref:
            env[item["name"]] = f"<{ref['fieldRef']['fieldPath']}>"
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key not in ref:
                continue
            values = source(kind, ref[key]["name"]) if not ref[key].get("optional") else {}
            if not ref[key].get("optional"):
                assert ref[key]["key"] in values, f"{kind} {ref[key]['name']}: no key"
            if ref[key]["key"] in values:
                env[item["name"]] = values[ref[key]["key"]]
    return env


def settings_class(name: str) -> Any:
    try:
        return importlib.import_module(f"{name}.settings").Settings
    except ModuleNotFoundError:  # a service whose package is not in this workspace yet
        from servicekit.settings import ServiceSettings

        return ServiceSettings


@pytest.mark.parametrize("kustomization", ["overlays/dev", "overlays/production"])
def test_services_accept_their_environment(
    kustomization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings each service reads from its pod's environment: complete, parseable,
    bound to the pod's addresses, and pointing at the Services of the render."""
    docs = render(kustomization)
    if kustomization == "overlays/production":  # its Secrets are made outside the repository
        docs = docs + example_secrets(filled_in=True)
    services = of_kind(docs, "Service")
    for name in SERVICES:
        deployment = service_deployment(docs, name)
        env = container_env(docs, main_container(deployment))
        unresolved = {k: v for k, v in env.items() if re.search(r"\$\([A-Za-z_]", v)}
        assert not unresolved, f"{name}: unresolved references {unresolved}"

        settings_cls = settings_class(name)
        for var in list(os.environ):
            if var.lower() in settings_cls.model_fields:
                monkeypatch.delenv(var)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        settings = settings_cls()

        assert settings.http_host == "0.0.0.0", name
        assert settings.http_port == SERVICES[name], name
        database = urlsplit(settings.database_url)
        assert database.scheme == "postgresql" and database.password, name
        assert database.hostname in services, f"{name}: database host {database.hostname}"
        assert settings.kafka_bootstrap_servers.split(":")[0] in services, name
        if name in ("delivery", "tracking"):
            TokenCodec.from_secret(settings.token_secret.get_secret_value())
        if name == "notifier":
            assert urlsplit(settings.redis_url).hostname in services
        if name in ("delivery", "notifier"):
            assert settings.smtp_host in services, f"{name}: SMTP host {settings.smtp_host}"
        if name == "recipients":
            composer = urlsplit(settings.composer_url)
            assert composer.hostname in services and composer.port == SERVICES["composer"]
        monkeypatch.undo()


def test_example_secrets_are_placeholders() -> None:
    for secret in example_secrets():
        for key, value in secret_data(secret).items():
            assert key == "username" or "REPLACE" in value, f"{key}: not a placeholder"


# ---------------------------------------------------------------------------- topics


def load_wait_for_topics() -> Any:
    spec = importlib.util.spec_from_file_location(
        "wait_for_topics", K8S / "base" / "wait_for_topics.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wait_for_topics_knows_every_topic() -> None:
    module = load_wait_for_topics()
    names = [t.name for t in all_topics()]
    assert module.missing(names) == []
    assert module.missing(names[1:]) == [names[0]]
    assert module.missing(names, "ns.") == sorted("ns." + n for n in names)


@pytest.mark.parametrize("kustomization", PLATFORM)
def test_services_wait_for_their_topics(kustomization: str) -> None:
    docs = render(kustomization)
    for name in SERVICES:
        pod = service_deployment(docs, name)["spec"]["template"]["spec"]
        init = {c["name"]: c for c in pod.get("initContainers", [])}
        assert "wait-for-topics" in init, f"{name}: starts before its topics exist"
        mount = init["wait-for-topics"]["volumeMounts"][0]
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        scripts = generated(docs, "ConfigMap", "bulkmail-scripts")
        assert scripts and volume["configMap"]["name"] == scripts["metadata"]["name"]
        script = Path(init["wait-for-topics"]["command"][-1])
        assert script.parent == Path(mount["mountPath"]) and script.name in scripts["data"]


def test_dev_creates_its_topics_with_a_job() -> None:
    jobs = of_kind(render("overlays/dev"), "Job")
    command = jobs["create-topics"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["python", "tools/topics.py", "create"]


def test_production_kafka_topics_are_the_contract_topics() -> None:
    production = render("overlays/production")
    assert "create-topics" not in of_kind(production, "Job"), "RF 1 topics in production"
    config = generated(production, "ConfigMap", "bulkmail-config")
    assert config is not None
    prefix = config["data"].get("KAFKA_NAMESPACE", "")
    topics = {
        d["spec"]["topicName"]: d["spec"]
        for d in render("overlays/production/kafka-topics")
        if d["kind"] == "KafkaTopic"
    }
    assert topics.keys() == {prefix + t.name for t in all_topics()}
    for topic in all_topics():
        spec = topics[prefix + topic.name]
        assert spec["partitions"] == topic.partitions, topic.name
        assert spec["replicas"] == 3, topic.name
        assert int(spec["config"]["min.insync.replicas"]) == 2, topic.name
