"""capmon stream side: events, topics, state logic, the Faust worker, the simulator and the CLI."""
