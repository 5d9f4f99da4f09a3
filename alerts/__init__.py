"""capmon alerting: rules, event-time evaluation, alert state and delivery to receivers."""
