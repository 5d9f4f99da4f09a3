"""The composition root: the only package that imports both `streams` and `alerts`.

`cli` is the command line; `worker` wires one worker process (the Faust pipeline, the figures reader, alert
leadership, receivers, metrics and the HTTP read-out); `harness` runs worker processes from outside, for the
tests and the benchmarks.
"""
