"""The event contract (CONTRACT.md sections 1-2) and the records of the topics capmon writes."""
