"""faust-streaming: a stale fetch after a rebalance is taken for an offset gap, and the messages below it are skipped.

Needs faust-streaming (with its aiokafka) and a Kafka broker; see faust-stale-fetch-gap.md beside this file.

    python repro_stale_fetch_gap.py [--bootstrap 127.0.0.1:9092] [--cycles 4] [--graceful] [--inject]

A new 4-partition topic gets numbered messages, without transactions, so every partition's offsets are contiguous
and any gap Faust records is a fake one. Worker A (a Faust app in a subprocess: one agent reading batches with
`take_events`, slower than the producer, so fetched data waits in Faust's buffers) consumes it throughout. Worker B,
same app id, is started and `kill -9`-ed (`--graceful`: SIGTERM) `--cycles` times; each join and each departure
rebalances the group, and A's partitions are revoked and handed back to A.

Without `--inject` this is the race as it happens in production: it may take many cycles to hit.
With `--inject`, worker A makes it happen once, on its first fetch after a rebalance that hands partitions back: for
each partition it puts first the records from its old fetch position onwards (what a fetch still in flight from the
old position returns), then the fetch from the committed offset as Kafka returned it. This shows deterministically
what Faust does with such a fetch.

The workers patch `Consumer._add_gap` only to log its calls (the original still runs). The verdict lists
- every `_add_gap` call: on this topic each is a fake gap;
- for each fake gap, the offsets from the committed offset up to the gap's end that worker A's agent was not given
  in that generation although the group's commit passed them: messages skipped after the rebalance;
- the offsets no agent ever received although the group committed past them: lost outright.
Exit code 1 when messages were skipped or lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PARTITIONS = 4


# --- the worker (a subprocess) -----------------------------------------------------------------------------------

def run_worker(bootstrap: str, app_id: str, topic_name: str, out: Path, datadir: Path, inject: bool) -> None:
    import faust
    from faust.transport import consumer as faust_consumer

    log = out.open("a", buffering=1)  # one JSON object a line, flushed a line: survives kill -9

    def write(**entry: object) -> None:
        log.write(json.dumps(entry) + "\n")

    original_add_gap = faust_consumer.Consumer._add_gap

    async def logged_add_gap(self, tp, offset_from, offset_to):  # type: ignore[no-untyped-def]
        write(gap=[tp.partition, offset_from, offset_to], committed=self._committed_offset.get(tp),
              generation=self.app.consumer_generation_id)
        await original_add_gap(self, tp, offset_from, offset_to)

    faust_consumer.Consumer._add_gap = logged_add_gap

    if inject:
        original_getmany = faust_consumer.ThreadDelegateConsumer._getmany
        last: dict = {"drained": {}, "generation": None, "done": False}

        async def getmany_with_stale_fetch(self, active_partitions, timeout):  # type: ignore[no-untyped-def]
            """Once, on the first fetch after a rebalance: put first, for each partition, the records above the
            last offset fetched before the rebalance (what a fetch in flight from the old position returns),
            then the fetch from the committed offset as Kafka returns it."""
            records = await original_getmany(self, active_partitions, timeout)
            generation = self.app.consumer_generation_id
            if last["done"] or not records:
                return records
            if last["generation"] not in (None, generation) and self.flow_active:
                out, injected = {}, {}
                for tp, batch in records.items():
                    old = last["drained"].get(tp)
                    ahead = [r for r in batch if old is not None and r.offset > old > batch[0].offset]
                    out[tp] = ahead + batch
                    if ahead:
                        injected[tp.partition] = [ahead[0].offset, ahead[-1].offset, batch[0].offset]
                if injected:
                    last["done"] = True
                    write(injected=injected, generation=generation)
                    return out
            last["generation"] = generation
            for tp, batch in records.items():
                last["drained"][tp] = batch[-1].offset
            return records

        faust_consumer.ThreadDelegateConsumer._getmany = getmany_with_stale_fetch

    app = faust.App(app_id, broker=f"kafka://{bootstrap}", web_enabled=False, datadir=str(datadir),
                    topic_partitions=PARTITIONS, consumer_auto_offset_reset="earliest",
                    broker_session_timeout=6.0, broker_heartbeat_interval=1.5, broker_commit_interval=1.0)
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")

    @app.agent(topic)
    async def consume(stream):  # type: ignore[no-untyped-def]
        async for events in stream.take_events(100, within=0.2):
            write(delivered=[[e.message.partition, e.message.offset] for e in events],
                  generation=app.consumer_generation_id)
            await asyncio.sleep(0.1)

    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


# --- the driver --------------------------------------------------------------------------------------------------

async def create_topic(bootstrap: str, name: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """The run's input topic and the one Faust's assignor created."""
    from aiokafka.admin import AIOKafkaAdminClient
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([t for t in await admin.list_topics() if t.startswith(prefix)])
    finally:
        await admin.close()


async def produce(bootstrap: str, name: str, stop: asyncio.Event, rate: int) -> int:
    """Messages to every partition in turn, about `rate` a second in all; returns how many a partition."""
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    n = 0
    try:
        while not stop.is_set():
            for _ in range(max(1, rate // (10 * PARTITIONS))):
                for p in range(PARTITIONS):
                    await producer.send(name, value=str(n).encode(), partition=p)
                n += 1
            await asyncio.sleep(0.1)
        await producer.flush()
    finally:
        await producer.stop()
    return n


async def committed_offsets(bootstrap: str, app_id: str, name: str) -> dict[int, int]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=app_id, enable_auto_commit=False)
    await c.start()
    try:
        return {p: (await c.committed(TopicPartition(name, p))) or 0 for p in range(PARTITIONS)}
    finally:
        await c.stop()


def start_worker(args: argparse.Namespace, name: str, tmp: Path, app_id: str, topic: str,
                 inject: bool = False) -> subprocess.Popen:
    command = [sys.executable, __file__, "--worker", args.bootstrap, app_id, topic, str(tmp / f"{name}.jsonl"),
               str(tmp / f"{name}-data")] + (["--inject"] if inject else [])
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{name}.err", "a"))


def read_log(path: Path) -> list[dict]:
    entries = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):  # the last line of a killed worker
            entries.append(json.loads(line))
    return entries


def wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen, graceful: bool) -> None:
    proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def drive(args: argparse.Namespace) -> int:
    run = uuid.uuid4().hex[:8]
    app_id, topic = f"repro-gap-{run}", f"repro-gap-{run}-input"
    tmp = Path(tempfile.mkdtemp(prefix="repro-gap-"))
    print(f"topic {topic}, group {app_id}, worker logs in {tmp}")
    await create_topic(args.bootstrap, topic)
    stop_producing = asyncio.Event()
    producing = asyncio.create_task(produce(args.bootstrap, topic, stop_producing, args.rate))
    a = start_worker(args, "A", tmp, app_id, topic, inject=args.inject)

    def delivered(name: str) -> int:
        return sum(len(x.get("delivered", [])) for x in read_log(tmp / f"{name}.jsonl"))

    try:
        await asyncio.to_thread(wait_for, lambda: delivered("A") > 0, 60)
        await asyncio.sleep(3)  # a backlog in A's buffers
        for cycle in range(args.cycles):
            before = delivered("B")
            b = start_worker(args, "B", tmp, app_id, topic)
            await asyncio.to_thread(wait_for, lambda n=before: delivered("B") > n, 40)  # joined and consuming
            await asyncio.sleep(2)
            stop(b, args.graceful)  # the next rebalance: at once (SIGTERM) or after the session timeout (kill -9)
            print(f"cycle {cycle + 1}/{args.cycles}: B joined and was {'stopped' if args.graceful else 'killed'}")
            await asyncio.sleep(8)
        stop_producing.set()
        per_partition = await producing
        for _ in range(20):  # let A commit what it has; no need to drain the backlog
            await asyncio.sleep(1)
        done = await committed_offsets(args.bootstrap, app_id, topic)
    finally:
        stop_producing.set()
        if not producing.done():
            await producing
        stop(a, True)
        await delete_topics(args.bootstrap, f"{app_id}-")
    return verdict(tmp, per_partition, done)


def verdict(tmp: Path, per_partition: int, committed: dict[int, int]) -> int:
    seen: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}
    seen_by_a: dict[tuple[int, int], set[int]] = {}  # (generation, partition) -> offsets A's agent was given
    gaps = []
    for name in ("A", "B"):
        for entry in read_log(tmp / f"{name}.jsonl"):
            for p, o in entry.get("delivered", []):
                seen[p].add(o)
                if name == "A":
                    seen_by_a.setdefault((entry["generation"], p), set()).add(o)
            if "gap" in entry:
                gaps.append((name, entry))
            if "injected" in entry:
                for p, (first, last, fetched_from) in entry["injected"].items():
                    print(f"  worker A, generation {entry['generation']}, partition {p}: injected offsets "
                          f"{first}-{last} (the old position onwards) before the fetch from {fetched_from}")
    print(f"{per_partition} messages a partition; the group's commits at the end: {committed}")
    skipped = 0
    for name, entry in gaps:
        p, lo, hi = entry["gap"]
        print(f"  worker {name}: Consumer._add_gap(partition {p}, {lo}, {hi}) in generation {entry['generation']}, "
              f"committed offset {entry['committed']}: a fake gap (this topic has no transaction markers)")
        if name == "A" and committed[p] > hi:
            start = entry["committed"] if entry["committed"] is not None else lo
            given = set().union(*(s for (g, q), s in seen_by_a.items() if q == p and g >= entry["generation"]))
            missing = [o for o in range(start, hi + 1) if o not in given]
            skipped += len(missing)
            if missing:
                print(f"    offsets {missing[0]}-{missing[-1]}: {len(missing)} of them never given to A's agent "
                      f"after the rebalance, yet the group committed past them (now at {committed[p]})")
    lost = {p: sorted(set(range(min(committed[p], per_partition))) - seen[p]) for p in range(PARTITIONS)}
    for p, offsets in lost.items():
        if offsets:
            print(f"  partition {p}: {len(offsets)} offsets committed but never given to any agent, "
                  f"{offsets[0]}-{offsets[-1]}")
    n_lost = sum(len(v) for v in lost.values())
    print(f"{len(gaps)} fake gaps, {skipped} messages skipped after a rebalance, {n_lost} never delivered at all")
    return 1 if skipped or n_lost else 0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        bootstrap, app_id, topic, out, datadir = sys.argv[2:7]
        inject = "--inject" in sys.argv[7:]
        sys.argv = [sys.argv[0], "worker"]
        os.makedirs(datadir, exist_ok=True)
        run_worker(bootstrap, app_id, topic, Path(out), Path(datadir), inject)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--cycles", type=int, default=4, help="times worker B joins and leaves")
    parser.add_argument("--rate", type=int, default=3000, help="messages a second, all partitions")
    parser.add_argument("--graceful", action="store_true", help="stop B with SIGTERM instead of kill -9")
    parser.add_argument("--inject", action="store_true",
                        help="worker A replays its last pre-rebalance fetch once after a rebalance (deterministic)")
    sys.exit(asyncio.run(drive(parser.parse_args())))


if __name__ == "__main__":
    main()
