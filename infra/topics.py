"""Topic provisioning for production (``delaktig topics --production``).

The public topics hold the history every read model is rebuilt from, so on a real cluster they are
replicated three times, acknowledged by at least two in-sync replicas (the relays produce with
``acks=all``), and kept forever (``retention.ms=-1``; the event stores remain the source of truth,
but a subscriber must be able to replay from the start). ``--print`` shows the equivalent
``kafka-topics.sh`` and ``kafka-acls.sh`` commands for operators who provision by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.config import Settings
from shared.kafka import PUBLIC_TOPICS

# Who reads what (consumer group -> topics), for ACL guidance: each service's workers, the audit
# checkpointer and the subscribing systems each get their own SCRAM principal.
READERS: dict[str, tuple[str, ...]] = {
    "participants": ("recruitments.events", "matching.events"),
    "recruitments": ("matching.events",),
    "matching": ("participants.events", "recruitments.events"),
    "audit": ("participants.events", "recruitments.events", "matching.events", "audit.checkpoints"),
    "dashboards": ("participants.events", "recruitments.events", "matching.events"),
}
WRITERS: dict[str, tuple[str, ...]] = {
    "participants": ("participants.events",),
    "recruitments": ("recruitments.events",),
    "matching": ("matching.events",),
    "audit": ("audit.checkpoints",),
}


@dataclass(frozen=True)
class TopicPlan:
    partitions: int = 3
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


def production_plan(partitions: int = 3, replication_factor: int = 3, min_insync: int = 2) -> TopicPlan:
    """Replicated, acknowledged by ``min_insync`` replicas, kept forever."""
    if not 1 <= min_insync <= replication_factor:
        raise ValueError("min.insync.replicas must be between 1 and the replication factor")
    return TopicPlan(partitions, replication_factor, {
        "min.insync.replicas": str(min_insync),
        "retention.ms": "-1",
        "retention.bytes": "-1",
        "cleanup.policy": "delete",  # never compact: every event is history, not the latest value per key
        "unclean.leader.election.enable": "false",
    })


def provision(settings: Settings, plan: TopicPlan) -> list[str]:
    """Create the public topics that are missing, with the plan's settings; returns the names."""
    names = [settings.topic(t) for t in PUBLIC_TOPICS]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30000,
                             **settings.kafka_security())
    try:
        missing = [n for n in names if n not in set(admin.list_topics())]
        if missing:
            try:
                admin.create_topics([NewTopic(n, num_partitions=plan.partitions,
                                              replication_factor=plan.replication_factor,
                                              topic_configs=dict(plan.configs)) for n in missing])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return names


def commands(settings: Settings, plan: TopicPlan) -> str:
    """The same provisioning as shell commands (kafka-topics.sh / kafka-acls.sh of Apache Kafka)."""
    server = settings.kafka_bootstrap
    lines = ["# Topics (run once; `--if-not-exists` makes it repeatable)"]
    for topic in PUBLIC_TOPICS:
        configs = " ".join(f"--config {k}={v}" for k, v in plan.configs.items())
        lines.append(f"kafka-topics.sh --bootstrap-server {server} --command-config admin.properties --create "
                     f"--if-not-exists --topic {settings.topic(topic)} --partitions {plan.partitions} "
                     f"--replication-factor {plan.replication_factor} {configs}".rstrip())
    lines.append("# ACLs: one SCRAM user per service (User:delaktig-<service>) and per subscribing system")
    for service, topics in WRITERS.items():
        for topic in topics:  # the relay also reads its own topic back (a broker that lost data)
            lines.append(f"kafka-acls.sh --bootstrap-server {server} --command-config admin.properties --add "
                         f"--allow-principal User:delaktig-{service} --producer --topic {settings.topic(topic)}")
            lines.append(f"kafka-acls.sh --bootstrap-server {server} --command-config admin.properties --add "
                         f"--allow-principal User:delaktig-{service} --operation Read --operation Describe "
                         f"--topic {settings.topic(topic)}")
    for service, topics in READERS.items():
        for topic in topics:
            lines.append(f"kafka-acls.sh --bootstrap-server {server} --command-config admin.properties --add "
                         f"--allow-principal User:delaktig-{service} --operation Read --operation Describe "
                         f"--topic {settings.topic(topic)}")
    lines.append(f"# a subscribing system, e.g. payroll: read its topics, in its own consumer group only\n"
                 f"kafka-acls.sh --bootstrap-server {server} --command-config admin.properties --add "
                 f"--allow-principal User:payroll --consumer --group payroll "
                 f"--topic {settings.topic('participants.events')} --topic {settings.topic('audit.checkpoints')}")
    return "\n".join(lines)
