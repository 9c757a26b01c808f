"""Read-only department dashboards (web pages) and the research export, from Kafka projections."""
