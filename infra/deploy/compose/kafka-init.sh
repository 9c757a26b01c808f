#!/bin/bash
# One-shot provisioning of the Kafka cluster for Delaktig (run by the kafka-init container, as the
# kafka-admin certificate principal over the brokers' INTERNAL TLS listener):
#   SCRAM users, one per service and per subscribing system (passwords from kafka-users.env);
#   the public topics (6 partitions, replication 3, min.insync.replicas 2, retention forever);
#   ACLs: each service writes its own topic and reads what it consumes; subscribers read only.
# The same commands are printed by `delaktig topics --production --print`.
set -euo pipefail
BIN=/opt/kafka/bin
CFG=/etc/kafka/secrets/admin.properties
P="${TOPIC_PREFIX:-}"

for user in participants recruitments matching audit dashboards; do
  var="KAFKA_PASSWORD_${user^^}"
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CFG" --alter \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=${!var}]" --entity-type users --entity-name "delaktig-$user"
done
"$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CFG" --alter \
  --add-config "SCRAM-SHA-512=[iterations=8192,password=${KAFKA_PASSWORD_PAYROLL}]" --entity-type users --entity-name payroll

for topic in participants.events recruitments.events matching.events audit.checkpoints; do
  "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CFG" --create --if-not-exists \
    --topic "$P$topic" --partitions 6 --replication-factor 3 --config min.insync.replicas=2 \
    --config retention.ms=-1 --config retention.bytes=-1 --config cleanup.policy=delete \
    --config unclean.leader.election.enable=false
done

acl() { "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CFG" --add "$@"; }
for service in participants recruitments matching; do
  acl --allow-principal "User:delaktig-$service" --producer --topic "$P$service.events"
  acl --allow-principal "User:delaktig-$service" --operation Read --operation Describe --topic "$P$service.events"
done
acl --allow-principal User:delaktig-audit --producer --topic "${P}audit.checkpoints"
reads() { local who=$1; shift; for t in "$@"; do
  acl --allow-principal "User:delaktig-$who" --operation Read --operation Describe --topic "$P$t"; done; }
reads participants recruitments.events matching.events
reads recruitments matching.events
reads matching participants.events recruitments.events
reads audit participants.events recruitments.events matching.events audit.checkpoints
reads dashboards participants.events recruitments.events matching.events
# a subscribing system: its topics and its own consumer group, nothing else
acl --allow-principal User:payroll --consumer --group payroll \
  --topic "${P}participants.events" --topic "${P}audit.checkpoints"
echo "kafka-init: users, topics and ACLs in place"
