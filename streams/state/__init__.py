"""Pure state logic of CONTRACT.md section 3: no Kafka, no Faust, no clock. The agents call these functions.

Every piece of state is a join-semilattice: applying an event is idempotent and order-independent
("latest" = greatest (occurred_at, event_id); counted things are keyed by event_id). So at-least-once
delivery, duplicates, disorder and restarts all converge on the same figures.
"""
