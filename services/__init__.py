"""Delaktig's services. Each owns its event store and talks to the others only via Kafka."""
