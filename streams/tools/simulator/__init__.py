"""Synthetic, realistic feeds of the asylum chain for demos, tests and benchmarks (`capmon simulate`)."""
