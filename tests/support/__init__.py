"""What the tests share: the real CLI and worker processes, loopback receivers, Prometheus and Alertmanager
harnesses, and the independent reference model of the figures."""
