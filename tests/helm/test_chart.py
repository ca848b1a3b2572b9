"""The Helm chart (deploy/helm/hyperfleet-adapter), rendered for real.

Helm v4's own library (the PyPI package helm-python-sdk, no helm binary) renders, lints and
schema-validates the chart. The Go adapter chart's example values files under
../shared/conformance/upstream/charts/examples are rendered unchanged apart from the values Helm
requires on the command line (image, broker type), and the objects are checked: the Deployment,
the ConfigMaps the binary reads, and the RBAC.

Run: python3 -m unittest discover -s tests/helm -v   (scripts/test does.)
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import re
import shutil
import tempfile
import unittest

import helm_python as helm
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "hyperfleet-adapter"
CONFORMANCE_EXAMPLES = ROOT.parent / "shared" / "conformance" / "upstream" / "charts" / "examples"
REQUIRE_CONFORMANCE = os.environ.get("HYPERFLEET_REQUIRE_CONFORMANCE") == "1"

RELEASE = "adapter1"
NAMESPACE = "hyperfleet"
FULLNAME = "adapter1-hyperfleet-adapter"
IMAGE = {"registry": "quay.io/example", "repository": "hyperfleet-adapter", "tag": "0.1.0"}
# The verbs the Kubernetes transport uses (docs/kubernetes.md).
TRANSPORT_VERBS = ["get", "list", "create", "patch", "delete"]


def merge(base: dict, override: dict) -> dict:
    """Deep-merge override into a copy of base, as Helm coalesces values files."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Rendered:
    """The objects of one render, looked up by kind and name."""

    def __init__(self, manifests: dict[str, str]):
        self.objects: list[dict] = []
        for path, text in manifests.items():
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    self.objects.append(doc)

    def all(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        if len(found) != 1:
            names = [o["metadata"]["name"] for o in self.all(kind)]
            raise AssertionError(f"expected one {kind} {name or ''}, found {names}")
        return found[0]

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}

    @property
    def deployment(self) -> dict:
        return self.get("Deployment", FULLNAME)

    @property
    def container(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]["containers"][0]

    def env(self) -> list[dict]:
        return self.container.get("env", [])

    def env_value(self, name: str) -> str | None:
        for entry in self.env():
            if entry["name"] == name:
                return entry.get("value")
        return None

    def env_names(self) -> list[str]:
        return [e["name"] for e in self.env()]

    def mounted_files(self) -> dict[str, str]:
        """Path inside the container -> content, for the ConfigMaps this render creates."""
        spec = self.deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in self.all("ConfigMap")}
        files: dict[str, str] = {}
        for mount in self.container["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "projected" in volume:
                sources = [s["configMap"] for s in volume["projected"]["sources"] if "configMap" in s]
            elif "configMap" in volume:
                sources = [volume["configMap"]]
            else:
                continue
            for source in sources:
                data = configmaps.get(source["name"], {})
                items = source.get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    if item["key"] not in data:
                        continue
                    if "subPath" in mount:
                        if mount["subPath"] == item["path"]:
                            files[mount["mountPath"]] = data[item["key"]]
                    else:
                        files[f'{mount["mountPath"]}/{item["path"]}'] = data[item["key"]]
        return files


class ChartCase(unittest.TestCase):
    """A private copy of the chart per test class, so example files can be added to it."""

    chart_dir: pathlib.Path

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="hyperfleet-chart-")
        cls.chart_dir = pathlib.Path(cls._tmp.name) / "hyperfleet-adapter"
        shutil.copytree(CHART, cls.chart_dir)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def chart(self) -> helm.Chart:
        return helm.Chart.load(self.chart_dir)

    def render(self, values: dict) -> Rendered:
        chart = self.chart()
        # What `helm install` does: coalesce with the chart's defaults, then check the schema.
        chart.validate_schema(chart.merge_values(values))
        return Rendered(chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True))

    def render_error(self, values: dict) -> str:
        with self.assertRaises(helm.HelmError) as caught:
            self.render(values)
        return str(caught.exception)

    def assert_lints_clean(self, values: dict):
        report = helm.lint(self.chart_dir, values, strict=True, namespace=NAMESPACE)
        problems = [m for m in report.get("messages") or [] if m["severity"] >= 2]
        self.assertEqual(problems, [], f"helm lint: {problems}")
        self.assertEqual(report.get("errors") or [], [])


def minimal_values(**override) -> dict:
    base = {
        "image": IMAGE,
        "adapterConfig": {"yaml": {"adapter": {"name": "my-adapter"}}},
        "adapterTaskConfig": {"yaml": "params: []\n"},
        "broker": {
            "type": "rabbitmq",
            "rabbitmq": {"url": "amqp://guest:guest@rabbitmq:5672/", "exchange": "hyperfleet"},
        },
    }
    return merge(base, override)


@unittest.skipUnless(
    CONFORMANCE_EXAMPLES.is_dir() or REQUIRE_CONFORMANCE,
    f"conformance corpus not found at {CONFORMANCE_EXAMPLES}; the example values files are not rendered",
)
class ExampleValuesTest(ChartCase):
    """Each example values.yaml of the Go chart, rendered by this chart."""

    @classmethod
    def setUpClass(cls):
        if not CONFORMANCE_EXAMPLES.is_dir():
            raise AssertionError(f"HYPERFLEET_REQUIRE_CONFORMANCE=1 but {CONFORMANCE_EXAMPLES} does not exist")
        super().setUpClass()
        shutil.copytree(CONFORMANCE_EXAMPLES, cls.chart_dir / "examples")
        cls.examples = sorted(p.name for p in CONFORMANCE_EXAMPLES.iterdir() if (p / "values.yaml").is_file())

    def example_values(self, name: str) -> dict:
        return yaml.safe_load((CONFORMANCE_EXAMPLES / name / "values.yaml").read_text())

    def test_the_corpus_has_the_three_examples(self):
        self.assertEqual(self.examples, ["kubernetes", "maestro", "maestro-two-resources"])

    def test_unchanged_values_fail_on_the_image_placeholder(self):
        for name in self.examples:
            with self.subTest(example=name):
                message = self.render_error(self.example_values(name))
                self.assertIn("image.registry must be set (e.g. --set image.registry=quay.io)", message)

    def test_without_a_broker_type_the_render_says_which_value_to_set(self):
        for name in self.examples:
            with self.subTest(example=name):
                values = merge(self.example_values(name), {"image": {"registry": "quay.io/example"}})
                message = self.render_error(values)
                self.assertIn("broker.type must be set to one of: googlepubsub, rabbitmq", message)

    def test_a_files_entry_that_is_not_in_the_chart_fails_the_render_naming_it(self):
        # The kubernetes example lists task files the corpus does not carry.
        values = self.installable("kubernetes")
        corpus = CONFORMANCE_EXAMPLES.parent
        missing = {k: p for k, p in values["adapterTaskConfig"]["files"].items() if not (corpus / p).exists()}
        self.assertTrue(missing, "the kubernetes example was expected to name files the corpus lacks")
        message = self.render_error(values)
        self.assertRegex(message, r"adapterTaskConfig\.files\.[a-z-]+\.yaml: file not found or empty at path 'examples/kubernetes/")
        key = re.search(r"adapterTaskConfig\.files\.([a-z.-]+): file not found", message).group(1)
        self.assertIn(key, missing)

    def installable(self, name: str) -> dict:
        """The example values plus what `helm install --set` has to add."""
        return merge(self.example_values(name), {"image": {"registry": "quay.io/example"}, "broker": {"type": "googlepubsub"}})

    def supply_missing_files(self, values: dict):
        """Write a small manifest for each task file the example names but the corpus lacks."""
        for key, path in values["adapterTaskConfig"]["files"].items():
            target = self.chart_dir / path
            if not target.exists():
                target.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: placeholder-{key.removesuffix('.yaml')}\n")

    def test_every_example_renders_lints_and_validates(self):
        # A copy of its own: the placeholders written below must not reach the other tests.
        own = pathlib.Path(self._tmp.name) / "with-placeholders" / "hyperfleet-adapter"
        shutil.copytree(self.chart_dir, own)
        self.chart_dir = own
        for name in self.examples:
            with self.subTest(example=name):
                values = self.installable(name)
                self.supply_missing_files(values)
                self.chart().validate_schema(values)
                self.assert_lints_clean(values)
                out = self.render(values)
                self.assertEqual(
                    out.kinds(),
                    {"Deployment", "Service", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "PodDisruptionBudget"},
                )
                self.check_deployment(name, values, out)
                self.check_configmaps(name, values, out)
                self.check_rbac(values, out)

    def check_deployment(self, name: str, values: dict, out: Rendered):
        c = out.container
        self.assertEqual(c["image"], "quay.io/example/hyperfleet-adapter:latest")
        self.assertEqual(c["imagePullPolicy"], "Always")
        self.assertEqual(c["command"], ["/app/adapter"])
        self.assertEqual(
            c["args"],
            ["serve", "--config", "/etc/adapter/adapter-config.yaml", "--task-config", "/etc/adapter/task-config.yaml"],
        )
        self.assertEqual(
            [(p["name"], p["containerPort"]) for p in c["ports"]], [("http", 8080), ("metrics", 9090)]
        )
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": 8080})
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": 8080})
        self.assertNotIn("startupProbe", c)
        # The user's env first, then the chart's, without the Go chart's ineffective broker variables.
        names = out.env_names()
        self.assertEqual(names[:3], ["NAMESPACE", "SERVICE_ACCOUNT", "SIMULATE_RESULT"])
        self.assertEqual(
            names[3:],
            ["LOG_LEVEL", "HYPERFLEET_API_BASE_URL", "HYPERFLEET_API_VERSION", "BROKER_CONFIG_FILE",
             "HYPERFLEET_BROKER_SUBSCRIPTION_ID", "HYPERFLEET_BROKER_TOPIC", "HYPERFLEET_TRACING_ENABLED"],
        )
        self.assertEqual(out.env()[0]["valueFrom"], {"fieldRef": {"fieldPath": "metadata.namespace"}})
        self.assertEqual(out.env_value("LOG_LEVEL"), values["adapterConfig"].get("log", {}).get("level", "info"))
        self.assertEqual(out.env_value("BROKER_CONFIG_FILE"), "/etc/broker/broker.yaml")
        self.assertEqual(out.env_value("HYPERFLEET_BROKER_SUBSCRIPTION_ID"), values["broker"]["googlepubsub"]["subscriptionId"])
        self.assertEqual(out.env_value("HYPERFLEET_TRACING_ENABLED"), "false")
        pod = out.deployment["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], FULLNAME)
        self.assertEqual(pod["securityContext"], {"fsGroup": 65532, "runAsNonRoot": True, "runAsUser": 65532})
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(c["securityContext"]["capabilities"], {"drop": ["ALL"]})
        annotations = out.deployment["spec"]["template"]["metadata"]["annotations"]
        for key in ("checksum/config", "checksum/task-config", "checksum/broker-config"):
            self.assertRegex(annotations[key], r"^[0-9a-f]{64}$")
        service = out.get("Service", FULLNAME)
        self.assertEqual(
            [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]],
            [("http", 8080, "http"), ("metrics", 9090, "metrics")],
        )
        self.assertEqual(service["spec"]["selector"], out.deployment["spec"]["selector"]["matchLabels"])
        self.assertEqual(out.get("PodDisruptionBudget")["spec"]["maxUnavailable"], 1)

    def check_configmaps(self, name: str, values: dict, out: Rendered):
        files = out.mounted_files()
        # Each files entry lands, byte for byte, at /etc/adapter/<key>.
        for section in ("adapterConfig", "adapterTaskConfig"):
            for key, path in values[section]["files"].items():
                self.assertEqual(files[f"/etc/adapter/{key}"], (self.chart_dir / path).read_text(), key)
        # The paths the binary is given exist in the pod, and so does every manifest.ref target.
        self.assertIn("/etc/adapter/adapter-config.yaml", files)
        task = files["/etc/adapter/task-config.yaml"]
        refs = re.findall(r"^\s*ref:\s*\"?([^\"\s]+)\"?\s*$", task, re.MULTILINE)
        self.assertTrue(refs, f"{name}: the task config has no manifest.ref")
        for ref in refs:
            self.assertIn(ref, files, f"{name}: manifest.ref {ref} is not mounted")
        broker = yaml.safe_load(files["/etc/broker/broker.yaml"])
        pubsub = values["broker"]["googlepubsub"]
        self.assertEqual(
            broker,
            {
                "broker": {
                    "type": "googlepubsub",
                    "googlepubsub": {
                        "project_id": pubsub["projectId"],
                        "topic": pubsub["topic"],
                        "dead_letter_topic": pubsub["deadLetterTopic"],
                        "create_topic_if_missing": False,
                        "create_subscription_if_missing": False,
                    },
                },
                "subscriber": {"parallelism": 1},
            },
        )
        labels = {o["metadata"]["name"]: o["metadata"]["labels"] for o in out.all("ConfigMap")}
        self.assertEqual(labels[f"{FULLNAME}-config"]["app.kubernetes.io/component"], "adapter-config")
        self.assertEqual(labels[f"{FULLNAME}-task"]["app.kubernetes.io/component"], "adapter-task-config")
        self.assertEqual(labels[f"{FULLNAME}-broker"]["app.kubernetes.io/component"], "broker-config")
        self.assertEqual(labels[f"{FULLNAME}-broker"]["hyperfleet.io/broker-type"], "googlepubsub")

    def check_rbac(self, values: dict, out: Rendered):
        role = out.get("ClusterRole", f"{FULLNAME}-{NAMESPACE}")
        granted = {}
        for rule in role["rules"]:
            self.assertEqual(rule["verbs"], TRANSPORT_VERBS)
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted[resource] = group
        self.assertEqual(
            granted,
            {
                "namespaces": "", "serviceaccounts": "", "configmaps": "", "pods": "",
                "deployments": "apps",
                "roles": "rbac.authorization.k8s.io", "rolebindings": "rbac.authorization.k8s.io",
                "jobs": "batch", "jobs/status": "batch",
            },
        )
        self.assertEqual(set(granted), set(values["rbac"]["resources"]))
        binding = out.get("ClusterRoleBinding", f"{FULLNAME}-{NAMESPACE}")
        self.assertEqual(binding["roleRef"]["name"], role["metadata"]["name"])
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}])


class ChartValuesTest(ChartCase):
    """Values the examples do not exercise: RabbitMQ, auth, tracing, scaling, monitoring, errors."""

    def test_rabbitmq_broker_yaml_and_no_ineffective_broker_env(self):
        values = minimal_values(broker={"rabbitmq": {"queue": "clusters", "routingKey": "clusters.#"}})
        self.assert_lints_clean(values)
        out = self.render(values)
        broker = yaml.safe_load(out.mounted_files()["/etc/broker/broker.yaml"])
        self.assertEqual(
            broker,
            {"broker": {"type": "rabbitmq", "rabbitmq": {
                "url": "amqp://guest:guest@rabbitmq:5672/", "queue": "clusters",
                "exchange": "hyperfleet", "exchange_type": "topic", "routing_key": "clusters.#"}}},
        )
        for name in ("BROKER_URL", "BROKER_QUEUE", "HYPERFLEET_BROKER_SUBSCRIPTION_ID", "HYPERFLEET_BROKER_TOPIC"):
            self.assertNotIn(name, out.env_names())

    def test_keyed_delivery_values(self):
        values = minimal_values(broker={"rabbitmq": {"hashQueues": 8, "hashHeader": "x-cluster"}})
        self.assert_lints_clean(values)
        rabbit = yaml.safe_load(self.render(values).mounted_files()["/etc/broker/broker.yaml"])["broker"]["rabbitmq"]
        self.assertEqual((rabbit["hash_queues"], rabbit["hash_header"]), (8, "x-cluster"))
        plain = yaml.safe_load(self.render(minimal_values()).mounted_files()["/etc/broker/broker.yaml"])["broker"]["rabbitmq"]
        self.assertNotIn("hash_queues", plain)
        values = minimal_values(broker={"type": "googlepubsub", "googlepubsub": {
            "projectId": "p", "topic": "t", "subscriptionId": "s", "enableMessageOrdering": True}})
        pubsub = yaml.safe_load(self.render(values).mounted_files()["/etc/broker/broker.yaml"])["broker"]["googlepubsub"]
        self.assertIs(pubsub["enable_message_ordering"], True)

    def test_pubsub_durations_are_written_when_set(self):
        values = minimal_values(broker={"type": "googlepubsub", "googlepubsub": {
            "projectId": "p", "topic": "t", "subscriptionId": "s", "messageRetentionDuration": "7d", "expirationTTL": "0"}})
        pubsub = yaml.safe_load(self.render(values).mounted_files()["/etc/broker/broker.yaml"])["broker"]["googlepubsub"]
        self.assertEqual(pubsub["message_retention_duration"], "7d")
        self.assertEqual(pubsub["expiration_ttl"], "0")

    def test_broker_yaml_given_verbatim_and_extra_keys(self):
        raw = "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://x\nsubscriber:\n  parallelism: 8\n"
        out = self.render(minimal_values(broker={"type": "", "yaml": raw, "env": {"EXTRA": 5}}))
        data = out.get("ConfigMap", f"{FULLNAME}-broker")["data"]
        self.assertEqual(data["broker.yaml"], raw)
        self.assertEqual(data["EXTRA"], "5")

    def test_task_files_from_set_file(self):
        values = minimal_values(adapterTaskConfig={"yaml": None, "external": {
            "task-config": "params: []\n", "job": "kind: Job\n"}})
        files = self.render(values).mounted_files()
        self.assertEqual(files["/etc/adapter/task-config.yaml"], "params: []\n")
        self.assertEqual(files["/etc/adapter/job.yaml"], "kind: Job\n")

    def test_existing_configmaps(self):
        values = minimal_values(
            adapterConfig={"create": False, "configMapName": "mine-config", "yaml": None},
            adapterTaskConfig={"create": False, "configMapName": "mine-task", "yaml": None},
            broker={"create": False, "configMapName": "mine-broker"},
        )
        out = self.render(values)
        self.assertEqual(out.all("ConfigMap"), [])
        pod = out.deployment["spec"]["template"]["spec"]
        projected = [s["configMap"]["name"] for s in pod["volumes"][0]["projected"]["sources"]]
        self.assertEqual(projected, ["mine-config", "mine-task", "mine-broker"])
        self.assertEqual(pod["volumes"][1]["configMap"]["name"], "mine-broker")
        self.assertNotIn("annotations", out.deployment["spec"]["template"]["metadata"])

    def test_checksums_follow_the_config(self):
        def annotations(**override):
            return self.render(minimal_values(**override)).deployment["spec"]["template"]["metadata"]["annotations"]

        base = annotations()
        self.assertEqual(base, annotations(), "a render must be reproducible")
        task = annotations(adapterTaskConfig={"yaml": "params: [x]\n"})
        self.assertEqual(base["checksum/config"], task["checksum/config"])
        self.assertNotEqual(base["checksum/task-config"], task["checksum/task-config"])
        self.assertEqual(base["checksum/broker-config"], task["checksum/broker-config"])
        broker = annotations(broker={"rabbitmq": {"exchange": "other"}})
        self.assertNotEqual(base["checksum/broker-config"], broker["checksum/broker-config"])
        self.assertEqual(base["checksum/task-config"], broker["checksum/task-config"])
        merged = annotations(podAnnotations={"team": "core"})
        self.assertEqual(merged["team"], "core")
        self.assertEqual(merged["checksum/config"], base["checksum/config"])

    def test_go_chart_values_with_every_key(self):
        """Every key of the Go chart's values.yaml (2.2.0) at its default, plus the keys it leaves commented."""
        go_values = {
            "adapterConfig": {"create": True, "yaml": "adapter:\n  name: a\n", "hyperfleetApi": {
                "baseUrl": "http://hyperfleet-api:8000", "version": "v1", "auth": {
                    "enabled": False, "audience": "hyperfleet-api", "tokenPath": "/var/run/secrets/hyperfleet/token",
                    "expirationSeconds": 3600, "tokenCacheTtl": "30s"}}, "log": {"level": "info"}},
            "adapterTaskConfig": {"create": True, "yaml": "params: []\n"},
            "affinity": {},
            "args": ["serve", "--config", "/etc/adapter/adapter-config.yaml", "--task-config", "/etc/adapter/task-config.yaml"],
            "autoscaling": {"enabled": False, "maxReplicas": 10, "minReplicas": 1,
                            "targetCPUUtilizationPercentage": 80, "targetMemoryUtilizationPercentage": 80},
            "broker": {"create": True, "type": "googlepubsub", "googlepubsub": {
                "projectId": "p", "topic": "t", "subscriptionId": "s", "deadLetterTopic": "",
                "createTopicIfMissing": False, "createSubscriptionIfMissing": False,
                "messageRetentionDuration": "", "expirationTTL": ""},
                "rabbitmq": {"url": "", "queue": "", "exchange": "", "exchangeType": "topic"}},
            "command": ["/app/adapter"],
            "containerPorts": [{"containerPort": 8080, "name": "http", "protocol": "TCP"},
                               {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
            "env": [], "extraVolumeMounts": [], "extraVolumes": [], "fullnameOverride": "",
            "image": {"pullPolicy": "Always", "registry": "quay.io/example", "repository": "hyperfleet-adapter", "tag": "1.10"},
            "imagePullSecrets": [], "initContainers": [], "lifecycle": {},
            "livenessProbe": {"enabled": True, "httpGet": {"path": "/healthz", "port": 8080}},
            "minReadySeconds": 0, "nameOverride": "", "nodeSelector": {}, "podAnnotations": {},
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "podLabels": {}, "labels": {},
            "podSecurityContext": {"fsGroup": 65532, "runAsNonRoot": True, "runAsUser": 65532},
            "priorityClassName": "",
            "rbac": {"create": True, "rules": []},
            "readinessProbe": {"enabled": True, "httpGet": {"path": "/readyz", "port": 8080}},
            "replicaCount": 1,
            "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "revisionHistoryLimit": 10,
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "serviceAccount": {"annotations": {}, "create": True, "name": ""},
            "sidecarContainers": [],
            "startupProbe": {"enabled": False, "httpGet": {"path": "/healthz", "port": 8080}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "terminationGracePeriodSeconds": 30, "tolerations": [],
            "monitoring": {
                "serviceMonitor": {"enabled": False, "interval": "30s", "scrapeTimeout": "10s", "labels": {},
                                   "honorLabels": True, "metricRelabeling": [], "namespaceSelector": {}, "namespace": ""},
                "dashboard": {"enabled": False},
                "tracing": {"enabled": False, "serviceName": "hyperfleet-adapter", "otlpEndpoint": "", "otlpProtocol": "grpc",
                            "sampler": "parentbased_always_on", "samplerArg": "", "propagators": "tracecontext,baggage"}},
        }
        self.assert_lints_clean(go_values)
        out = self.render(go_values)
        self.assertEqual(out.container["image"], "quay.io/example/hyperfleet-adapter:1.10")
        self.assertEqual(out.deployment["spec"]["revisionHistoryLimit"], 10)
        self.assertEqual(out.deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 30)
        pubsub = yaml.safe_load(out.mounted_files()["/etc/broker/broker.yaml"])["broker"]["googlepubsub"]
        self.assertNotIn("expiration_ttl", pubsub)
        self.assertNotIn("message_retention_duration", pubsub)

    def test_api_token_auth(self):
        values = minimal_values(adapterConfig={"hyperfleetApi": {"auth": {"enabled": True, "tokenPath": "/var/run/hf/api-token"}}})
        out = self.render(values)
        self.assertEqual(out.env_value("HYPERFLEET_API_AUTH_TOKEN_PATH"), "/var/run/hf/api-token")
        self.assertEqual(out.env_value("HYPERFLEET_API_AUTH_TOKEN_CACHE_TTL"), "30s")
        pod = out.deployment["spec"]["template"]["spec"]
        token = next(v for v in pod["volumes"] if v["name"] == "hyperfleet-api-token")
        self.assertEqual(
            token["projected"]["sources"],
            [{"serviceAccountToken": {"audience": "hyperfleet-api", "expirationSeconds": 3600, "path": "api-token"}}],
        )
        mount = next(m for m in out.container["volumeMounts"] if m["name"] == "hyperfleet-api-token")
        self.assertEqual(mount["mountPath"], "/var/run/hf")

    def test_tracing(self):
        values = minimal_values(monitoring={"tracing": {"enabled": True, "otlpEndpoint": "http://otel:4317", "samplerArg": "0.5"}})
        out = self.render(values)
        env = {e["name"]: e.get("value") for e in out.env()}
        self.assertEqual(env["HYPERFLEET_TRACING_ENABLED"], "true")
        self.assertEqual(env["OTEL_SERVICE_NAME"], "hyperfleet-adapter")
        self.assertEqual(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel:4317")
        self.assertEqual(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc")
        self.assertEqual(env["OTEL_TRACES_SAMPLER"], "parentbased_always_on")
        self.assertEqual(env["OTEL_TRACES_SAMPLER_ARG"], "0.5")
        self.assertEqual(env["OTEL_PROPAGATORS"], "tracecontext,baggage")
        self.assertEqual(env["OTEL_RESOURCE_ATTRIBUTES"], "k8s.namespace.name=$(K8S_NAMESPACE)")
        # K8S_NAMESPACE must come before the variable that expands it.
        names = out.env_names()
        self.assertLess(names.index("K8S_NAMESPACE"), names.index("OTEL_RESOURCE_ATTRIBUTES"))

    def test_zero_values_are_left_to_kubernetes(self):
        out = self.render(minimal_values(revisionHistoryLimit=0, terminationGracePeriodSeconds=0))
        self.assertNotIn("revisionHistoryLimit", out.deployment["spec"])
        self.assertNotIn("terminationGracePeriodSeconds", out.deployment["spec"]["template"]["spec"])

    def test_recreate_strategy_drops_the_rolling_update_defaults(self):
        out = self.render(minimal_values(strategy={"type": "Recreate"}))
        self.assertEqual(out.deployment["spec"]["strategy"], {"type": "Recreate"})

    def test_pod_extras(self):
        spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                   "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "hyperfleet-adapter"}}}]
        env_from = [{"secretRef": {"name": "adapter-secrets"}}]
        sidecar = {"name": "proxy", "image": "proxy:1"}
        out = self.render(minimal_values(topologySpreadConstraints=spread, envFrom=env_from, sidecarContainers=[sidecar],
                                         extraVolumes=[{"name": "x", "emptyDir": {}}],
                                         extraVolumeMounts=[{"name": "x", "mountPath": "/x"}]))
        pod = out.deployment["spec"]["template"]["spec"]
        self.assertEqual(pod["topologySpreadConstraints"], spread)
        self.assertEqual(out.container["envFrom"], env_from)
        self.assertEqual(pod["containers"][1], sidecar)
        self.assertEqual(pod["volumes"][-1], {"name": "x", "emptyDir": {}})
        self.assertEqual(out.container["volumeMounts"][-1], {"name": "x", "mountPath": "/x"})

    def test_config_text_keeps_its_leading_indentation(self):
        text = "  # indented first line\nadapter:\n  name: a\n"
        out = self.render(minimal_values(adapterConfig={"yaml": text}))
        self.assertEqual(out.mounted_files()["/etc/adapter/adapter-config.yaml"], text)

    def test_tracing_without_an_endpoint(self):
        env = {e["name"]: e.get("value") for e in self.render(minimal_values(monitoring={"tracing": {"enabled": True}})).env()}
        self.assertEqual(env["HYPERFLEET_TRACING_ENABLED"], "true")
        self.assertNotIn("OTEL_EXPORTER_OTLP_ENDPOINT", env)
        self.assertNotIn("OTEL_TRACES_SAMPLER_ARG", env)
        env = {e["name"]: e.get("value") for e in self.render(minimal_values(monitoring={"tracing": {
            "enabled": True, "sampler": "traceidratio", "samplerArg": "0"}})).env()}
        self.assertEqual(env["OTEL_TRACES_SAMPLER_ARG"], "0")

    def test_expiration_ttl_zero_unquoted(self):
        values = minimal_values(broker={"type": "googlepubsub", "googlepubsub": {"projectId": "p", "expirationTTL": 0}})
        pubsub = yaml.safe_load(self.render(values).mounted_files()["/etc/broker/broker.yaml"])["broker"]["googlepubsub"]
        self.assertEqual(pubsub["expiration_ttl"], "0")

    def test_autoscaling_replaces_replicas(self):
        out = self.render(minimal_values(autoscaling={"enabled": True, "maxReplicas": 4}))
        self.assertNotIn("replicas", out.deployment["spec"])
        hpa = out.get("HorizontalPodAutoscaler")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        self.assertEqual(hpa["spec"]["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME})
        self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (1, 4))
        self.assertEqual(
            [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in hpa["spec"]["metrics"]],
            [("cpu", 80), ("memory", 80)],
        )
        self.assertIn("minReplicas (5) must not exceed", self.render_error(minimal_values(autoscaling={"enabled": True, "minReplicas": 5, "maxReplicas": 2})))

    def test_pod_disruption_budget(self):
        out = self.render(minimal_values(podDisruptionBudget={"maxUnavailable": None, "minAvailable": 1}))
        self.assertEqual(out.get("PodDisruptionBudget")["spec"]["minAvailable"], 1)
        self.assertNotIn("maxUnavailable", out.get("PodDisruptionBudget")["spec"])
        self.assertIn("not both", self.render_error(minimal_values(podDisruptionBudget={"minAvailable": 1})))
        self.assertIn(
            "podDisruptionBudget.enabled is true but neither minAvailable nor maxUnavailable is set",
            self.render_error(minimal_values(podDisruptionBudget={"maxUnavailable": None})),
        )
        self.assertNotIn("PodDisruptionBudget", self.render(minimal_values(podDisruptionBudget={"enabled": False})).kinds())

    def test_service_monitor_needs_the_crd_unless_told(self):
        self.assertNotIn("ServiceMonitor", self.render(minimal_values(monitoring={"serviceMonitor": {"enabled": True}})).kinds())
        out = self.render(minimal_values(monitoring={"serviceMonitor": {"enabled": True, "skipCrdCheck": True, "namespace": "monitoring", "labels": {"release": "prom"}}}))
        sm = out.get("ServiceMonitor")
        self.assertEqual(sm["metadata"]["namespace"], "monitoring")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prom")
        self.assertEqual(sm["spec"]["namespaceSelector"], {"matchNames": [NAMESPACE]})
        self.assertEqual(sm["spec"]["selector"]["matchLabels"], out.get("Service")["spec"]["selector"])
        self.assertEqual(
            sm["spec"]["endpoints"],
            [{"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s", "honorLabels": True}],
        )

    def test_dashboard_covers_every_metric_the_binary_exports(self):
        out = self.render(minimal_values(monitoring={"dashboard": {"enabled": True}}))
        cm = out.get("ConfigMap", f"{FULLNAME}-grafana-dashboard")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        dashboard = json.loads(cm["data"]["hyperfleet-adapter.json"])
        exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
        used = set(re.findall(r"(hyperfleet_(?:adapter|broker)_[a-z_]+?)(?:_bucket)?\b", exprs))
        exported = set()
        for source in (ROOT / "src").rglob("*.rs"):
            exported |= set(re.findall(r'"(hyperfleet_(?:adapter|broker)_[a-z_]+)"', source.read_text()))
        exported = {m for m in exported if not m.endswith(("_bucket", "_count", "_sum"))}
        self.assertGreaterEqual(len(exported), 11, exported)
        self.assertEqual(exported - used, set(), "metrics without a dashboard panel")
        self.assertEqual(used - exported, set(), "dashboard panels for metrics the binary does not export")
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        self.assertLessEqual({"datasource", "adapter_name"}, variables)

    def test_rbac_can_be_turned_off_and_extended(self):
        self.assertFalse({"ClusterRole", "ClusterRoleBinding"} & self.render(minimal_values(rbac={"create": False})).kinds())
        rule = {"apiGroups": ["work.open-cluster-management.io"], "resources": ["manifestworks"], "verbs": ["get"]}
        role = self.render(minimal_values(rbac={"resources": ["configmaps"], "rules": [rule]})).get("ClusterRole")
        self.assertEqual(role["rules"][-1], rule)
        self.assertEqual(role["rules"][0]["resources"], ["configmaps"])
        self.assertEqual(self.render(minimal_values()).get("ClusterRole")["rules"], [])

    def test_names_and_labels(self):
        out = self.render(minimal_values(fullnameOverride="fleet", labels={"team": "core"}, serviceAccount={"name": "sa1"}))
        deployment = out.get("Deployment", "fleet")
        self.assertEqual(deployment["metadata"]["labels"]["team"], "core")
        self.assertEqual(deployment["metadata"]["labels"]["app.kubernetes.io/version"], "0.1.0")
        self.assertEqual(out.get("ServiceAccount")["metadata"]["name"], "sa1")
        self.assertEqual(out.get("ClusterRole")["metadata"]["name"], f"fleet-{NAMESPACE}")

    def test_probes_accept_the_go_chart_shapes(self):
        values = minimal_values(
            livenessProbe={"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5, "failureThreshold": 3},
            readinessProbe={"enabled": False},
            startupProbe={"enabled": True, "httpGet": None, "tcpSocket": {"port": 8080}, "periodSeconds": 2},
        )
        c = self.render(values).container
        self.assertEqual(c["livenessProbe"], {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5, "failureThreshold": 3})
        self.assertNotIn("readinessProbe", c)
        self.assertEqual(c["startupProbe"], {"tcpSocket": {"port": 8080}, "periodSeconds": 2})
        # A tcpSocket or exec probe wins over the chart's default httpGet, which Helm merges in.
        c = self.render(minimal_values(livenessProbe={"exec": {"command": ["/app/adapter", "version"]}},
                                       readinessProbe={"tcpSocket": {"port": "http"}})).container
        self.assertEqual(c["livenessProbe"], {"exec": {"command": ["/app/adapter", "version"]}})
        self.assertEqual(c["readinessProbe"], {"tcpSocket": {"port": "http"}})

    def test_validation_messages(self):
        cases = [
            ({"image": {"tag": ""}}, "image.tag must be set (e.g. --set image.tag=abc1234)"),
            ({"image": {"repository": "CHANGE_ME"}}, "image.repository must be set"),
            ({"broker": {"googlepubsub": {"project_id": "p"}}},
             "broker.googlepubsub.project_id has been renamed to broker.googlepubsub.projectId (camelCase). Please update your values."),
            ({"broker": {"googlepubsub": {"subscription_id": "s"}}}, "broker.googlepubsub.subscription_id has been renamed to broker.googlepubsub.subscriptionId"),
            ({"broker": {"googlepubsub": {"dead_letter_topic": "d"}}}, "broker.googlepubsub.dead_letter_topic has been renamed to broker.googlepubsub.deadLetterTopic"),
            ({"broker": {"googlepubsub": {"create_topic_if_missing": True}}}, "broker.googlepubsub.create_topic_if_missing has been renamed to broker.googlepubsub.createTopicIfMissing"),
            ({"broker": {"googlepubsub": {"create_subscription_if_missing": True}}},
             "broker.googlepubsub.create_subscription_if_missing has been renamed to broker.googlepubsub.createSubscriptionIfMissing"),
            ({"broker": {"rabbitmq": {"exchange_type": "topic"}}}, "broker.rabbitmq.exchange_type has been renamed to broker.rabbitmq.exchangeType"),
            ({"tracing": {"enabled": True}}, "tracing has moved to monitoring.tracing"),
            ({"image": {"registry": ""}}, "image.registry must be set (e.g. --set image.registry=quay.io)"),
            ({"image": {"tag": "  "}}, "image.tag must be set"),
            ({"adapterConfig": {"hyperfleetApi": {"auth": {"enabled": True, "tokenPath": "/etc/adapter/token"}}}},
             "tokenPath must be in a directory of its own: the token volume is mounted at /etc/adapter"),
            ({"adapterConfig": {"hyperfleetApi": {"auth": {"enabled": True, "tokenPath": "/token"}}}},
             "tokenPath must be in a directory of its own: the token volume is mounted at /,"),
            ({"broker": {"type": "googlepubsub", "googlepubsub": {"expirationTTL": "1w"}}},
             'broker.googlepubsub.expirationTTL must be "0" (never expire) or a duration like'),
            ({"adapterTaskConfig": {"create": False, "configMapName": "", "yaml": None}},
             "If .Values.adapterTaskConfig.configMapName is specified, it must have a non-blank value."),
            ({"broker": {"create": False, "configMapName": " "}}, "If .Values.broker.configMapName is specified, it must have a non-blank value."),
            ({"podDisruptionBudget": {"maxUnavailable": ""}}, "neither minAvailable nor maxUnavailable is set"),
            ({"adapterConfig": {"hyperfleet_api": {}}}, "adapterConfig.hyperfleet_api has been renamed to adapterConfig.hyperfleetApi"),
            ({"adapterConfig": {"hyperfleetApi": {"base_url": "x"}}}, "adapterConfig.hyperfleetApi.base_url has been renamed to adapterConfig.hyperfleetApi.baseUrl"),
            ({"serviceMonitor": {"enabled": True}}, "serviceMonitor has moved to monitoring.serviceMonitor"),
            ({"adapterConfig": {"hyperfleetApi": {"auth": {"enabled": True, "tokenPath": "token"}}}},
             "adapterConfig.hyperfleetApi.auth.tokenPath must be an absolute path (start with /)"),
            ({"adapterConfig": {"hyperfleetApi": {"auth": {"enabled": True, "tokenPath": "/var/run/"}}}},
             "adapterConfig.hyperfleetApi.auth.tokenPath must include a filename, not just a directory"),
            ({"broker": {"rabbitmq": {"url": ""}}}, "broker.rabbitmq.url is required when broker type is rabbitmq"),
            ({"broker": {"rabbitmq": {"exchange": ""}}}, "broker.rabbitmq.exchange is required when broker type is rabbitmq"),
            ({"broker": {"type": "googlepubsub", "googlepubsub": {"messageRetentionDuration": "1w"}}},
             "broker.googlepubsub.messageRetentionDuration must be a duration like"),
            ({"broker": {"type": "googlepubsub", "googlepubsub": {"messageRetentionDuration": "5m"}}},
             'messageRetentionDuration must be between "10m" and "31d"'),
            ({"broker": {"type": "googlepubsub", "googlepubsub": {"expirationTTL": "12h"}}},
             'expirationTTL must be "0" (never expire) or at least "1d"'),
            ({"adapterConfig": {"yaml": None}}, "When .Values.adapterConfig.create is true, either .Values.adapterConfig.yaml or .Values.adapterConfig.files must be provided."),
            ({"adapterConfig": {"create": False, "yaml": None}},
             "Either .Values.adapterConfig.create must be true or a non-blank .Values.adapterConfig.configMapName must be provided."),
            ({"adapterConfig": {"create": False, "configMapName": " ", "yaml": None}},
             "If .Values.adapterConfig.configMapName is specified, it must have a non-blank value."),
            ({"adapterTaskConfig": {"yaml": None}}, "When .Values.adapterTaskConfig.create is true, at least one of"),
            ({"adapterTaskConfig": {"external": {"job": "kind: Job"}}}, "these modes are mutually exclusive"),
            ({"adapterTaskConfig": {"yaml": None, "files": {"job.yaml": "dashboards/hyperfleet-adapter.json"}, "external": {"job": "kind: Job"}}},
             "ConfigMap key collision: 'job.yaml' exists in both adapterTaskConfig.external and adapterTaskConfig.files"),
            ({"adapterConfig": {"yaml": None, "files": {"adapter-config.yaml": "nowhere/adapter-config.yaml"}}},
             "adapterConfig.files.adapter-config.yaml: file not found or empty at path 'nowhere/adapter-config.yaml'"),
            ({"broker": {"create": False}}, "Either .Values.broker.create must be true or a non-blank .Values.broker.configMapName must be provided."),
        ]
        for override, expected in cases:
            with self.subTest(override=override):
                self.assertIn(expected, self.render_error(minimal_values(**override)))

    def test_lint_reports_what_is_wrong(self):
        report = helm.lint(self.chart_dir, minimal_values(replicaCount="two"), strict=True, namespace=NAMESPACE)
        errors = [m["error"] for m in report["messages"] if m["severity"] == 3]
        self.assertTrue(any("replicaCount" in e for e in errors), report)

    def test_schema_rejects_bad_types_and_enums(self):
        chart = self.chart()
        cases = [
            ({"adapterConfig": {"log": {"level": "verbose"}}}, "level"),
            ({"broker": {"type": "kafka"}}, "type"),
            ({"broker": {"rabbitmq": {"exchangeType": "fan"}}}, "exchangeType"),
            ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
            ({"replicaCount": "two"}, "replicaCount"),
            ({"monitoring": {"tracing": {"otlpProtocol": "http"}}}, "otlpProtocol"),
            ({"monitoring": {"serviceMonitor": {"enable": True}}}, "enable"),
            ({"image": {"tag": 1.1}}, "tag"),
            ({"monitoring": {"tracing": {"samplerArg": 0.5}}}, "samplerArg"),
        ]
        for override, key in cases:
            with self.subTest(override=override):
                with self.assertRaises(helm.HelmValuesError) as caught:
                    chart.validate_schema(minimal_values(**override))
                self.assertIn(key, str(caught.exception))
        chart.validate_schema(minimal_values())


if __name__ == "__main__":
    unittest.main()


ALERT_TESTS = ROOT / "tests" / "alerts" / "alerts_test.yaml"
ALERTS = {
    "HyperfleetAdapterDown",
    "HyperfleetAdapterHighFailureRate",
    "HyperfleetAdapterNoEventsProcessed",
    "HyperfleetAdapterSlowProcessing",
    "HyperfleetAdapterBrokerErrors",
    "HyperfleetAdapterErrorsRising",
}


def promtool() -> str:
    """promtool (Debian's prometheus package; scripts/test installs it): a missing one fails."""
    path = shutil.which("promtool")
    if path is None:
        raise AssertionError("promtool not found: install Debian's prometheus package (scripts/test does)")
    return path


class AlertRulesTest(ChartCase):
    """The chart's PrometheusRule: rendered, checked and unit-tested by promtool."""

    def rules(self, **prometheus_rule) -> dict:
        rule = merge({"enabled": True, "skipCrdCheck": True}, prometheus_rule)
        out = self.render(minimal_values(monitoring={"prometheusRule": rule}))
        return out.get("PrometheusRule")

    def run_promtool(self, *args: str, cwd: pathlib.Path) -> None:
        import subprocess

        done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False)
        self.assertEqual(done.returncode, 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}")

    def test_off_by_default_and_needs_the_crd_unless_told(self):
        self.assertNotIn("PrometheusRule", self.render(minimal_values()).kinds())
        enabled = minimal_values(monitoring={"prometheusRule": {"enabled": True}})
        self.assertNotIn("PrometheusRule", self.render(enabled).kinds())
        self.assert_lints_clean(minimal_values(monitoring={"prometheusRule": {"enabled": True, "skipCrdCheck": True}}))

    def test_the_runbook_alerts_pass_promtool_check_and_their_unit_tests(self):
        rule = self.rules(namespace="monitoring", labels={"release": "prom"})
        self.assertEqual(rule["metadata"]["namespace"], "monitoring")
        self.assertEqual(rule["metadata"]["labels"]["release"], "prom")
        names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
        self.assertEqual(names, ALERTS)
        with tempfile.TemporaryDirectory(prefix="hyperfleet-alerts-") as tmp:
            work = pathlib.Path(tmp)
            (work / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
            shutil.copy(ALERT_TESTS, work / "alerts_test.yaml")
            self.run_promtool("check", "rules", "rules.yaml", cwd=work)
            self.run_promtool("test", "rules", "alerts_test.yaml", cwd=work)

    def test_alerts_read_only_metrics_the_binary_exports(self):
        exprs = " ".join(r["expr"] for g in self.rules()["spec"]["groups"] for r in g["rules"])
        used = set(re.findall(r"(hyperfleet_(?:adapter|broker)_[a-z_]+?)(?:_bucket)?\b", exprs))
        exported = set()
        for source in (ROOT / "src").rglob("*.rs"):
            exported |= set(re.findall(r'"(hyperfleet_(?:adapter|broker)_[a-z_]+)"', source.read_text()))
        self.assertGreaterEqual(len(used), 5, used)
        self.assertEqual(used - exported, set(), "alerts on metrics the binary does not export")

    def test_selector_thresholds_and_switches_come_from_values(self):
        rule = self.rules(
            selector='namespace="prod", service="my-adapter"',
            alerts={"down": {"enabled": False}, "highFailureRate": {"ratio": 0.25, "for": "3m", "severity": "critical"}},
        )
        rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
        self.assertNotIn("HyperfleetAdapterDown", rules)
        high = rules["HyperfleetAdapterHighFailureRate"]
        self.assertIn('{namespace="prod", service="my-adapter", status="failed"}', high["expr"])
        self.assertTrue(high["expr"].rstrip().endswith("> 0.25"), high["expr"])
        self.assertEqual((high["for"], high["labels"]["severity"]), ("3m", "critical"))
        self.assertIn("hyperfleet_broker_messages_consumed_total{" + 'namespace="prod", service="my-adapter"}', rules["HyperfleetAdapterNoEventsProcessed"]["expr"])

    def test_the_schema_refuses_unknown_alerts_and_bad_values(self):
        for bad in (
            {"alerts": {"unknown": {"enabled": True}}},
            {"alerts": {"highFailureRate": {"ratio": 2}}},
            {"alerts": {"down": {"severity": "page"}}},
            {"alerts": {"noEventsProcessed": {"window": "an hour"}}},
        ):
            with self.subTest(bad=bad):
                self.render_error(minimal_values(monitoring={"prometheusRule": merge({"enabled": True}, bad)}))
