"""The read side: the figures as JSON, the status page, metrics collectors, the alert read-out."""
