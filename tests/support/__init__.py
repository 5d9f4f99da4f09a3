"""What the tests share: the real CLI, loopback receivers, brokers of their own, Prometheus and Alertmanager
harnesses, and the independent reference model of the figures (worker processes: capmon.harness)."""
