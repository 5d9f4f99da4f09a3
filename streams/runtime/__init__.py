"""The worker's Kafka and Faust machinery: the pipeline, the person table, clients, state directory."""
