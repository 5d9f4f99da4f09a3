"""`capmon`: the command line. Parses arguments, loads settings once, and turns every `CapmonError` into one
line on stderr and a non-zero exit code (a traceback means a bug)."""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from streams.config import Settings, load_settings
from streams.contract.topics import Topics
from streams.errors import CapmonError, ConfigError
from streams.tools.feed import FileSink, KafkaSink, Progress, Sink, run_feed
from streams.tools.simulator import mix
from streams.tools.simulator.chain import AMSTERDAM, ChainSimulation, SimConfig
from streams.tools.simulator.faults import Record, encode, inject_invalid, reorder


def _scenario(value: str) -> float:
    if value in mix.MPP_2023:
        return float(mix.MPP_2023[value])
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use min, medio, max or an annual number, e.g. 70500") from None
    if number < 0:
        raise argparse.ArgumentTypeError("an annual inflow cannot be negative")
    return number


def _start(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("use a date (2023-01-01) or an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=AMSTERDAM)


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a rate is a number between 0 and 1") from None
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError("a rate is a number between 0 and 1")
    return rate


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


DEFAULT_RULES = Path("deploy/alerts/rules.yaml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capmon", description="Monitor of the Dutch asylum reception chain.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="produce realistic synthetic events (to Kafka, or --out FILE.jsonl)")
    sim.add_argument("--start", type=_start, default=datetime(2023, 1, 1, tzinfo=AMSTERDAM),
                     help="first simulated moment (default 2023-01-01, Europe/Amsterdam)")
    sim.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    sim.add_argument("--scenario", type=_scenario, default=float(mix.DEFAULT_ANNUAL_INFLOW),
                     help="annual MPP inflow: min, medio, max or a number (default 70500, 'just over 70,000')")
    sim.add_argument("--seed", type=int, default=1, help="random seed: same seed, same bytes (default 1)")
    sim.add_argument("--speed", type=_non_negative, default=0.0,
                     help="multiple of real time, e.g. 3600 = an hour per second (default 0: as fast as possible)")
    sim.add_argument("--out", type=Path, help="write JSONL to this file ('-' for stdout) instead of Kafka")
    sim.add_argument("--initial-occupancy", type=_rate, default=mix.INITIAL_OCCUPANCY,
                     help=f"share of beds taken at the start (default {mix.INITIAL_OCCUPANCY})")
    sim.add_argument("--duplicates", type=_rate, default=0.0, help="share of events sent twice (fault injection)")
    sim.add_argument("--disorder", type=_non_negative, default=0.0,
                     help="shuffle events within this many seconds of event time (fault injection)")
    sim.add_argument("--invalid", type=_rate, default=0.0,
                     help="rate of extra events that break the contract (fault injection)")

    rep = sub.add_parser("replay", help="produce the events of a JSONL file to Kafka")
    rep.add_argument("file", type=Path)
    rep.add_argument("--speed", type=_non_negative, default=0.0, help="multiple of real time (default 0: no pacing)")
    rep.add_argument("--pace-from", type=_start, metavar="TIME",
                     help="send events dated before TIME at once, pace from TIME on (a file's opening state)")
    rep.add_argument("--skip-unroutable", action="store_true",
                     help="exit 0 even when some lines could not be routed (they are still reported)")

    top = sub.add_parser("topics", help="create the contract topics that do not exist yet")
    top.add_argument("--partitions", type=int, help="partitions of new topics (default CAPMON_PARTITIONS, 4)")

    wrk = sub.add_parser("worker", help="run a stream-processing worker (several may run; they share the work)")
    wrk.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])

    bt = sub.add_parser("backtest", help="evaluate alert rules over a JSONL file offline, in event time")
    bt.add_argument("file", type=Path)
    bt.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rules YAML")
    bt.add_argument("--json", type=Path, help="also write the timeline as JSON to this file")
    bt.add_argument("--step", default="5m", help="evaluation grid in event time (default 5m)")
    bt.add_argument("--all", action="store_true", help="also show pending and cancelled alerts")
    bt.add_argument("--as-of", dest="as_of", help="RFC 3339 time standing in for the messages' timestamps: events "
                    "more than CAPMON_MAX_CLOCK_SKEW_S after it are invalid (default: now)")

    dash = sub.add_parser("dashboards", help="Grafana dashboards: `publish` pushes them over Grafana's HTTP API")
    dash_sub = dash.add_subparsers(dest="action", required=True, metavar="ACTION")
    pub = dash_sub.add_parser("publish", help="create or overwrite capmon's dashboards in a Grafana folder")
    pub.add_argument("--url", help="Grafana address (default CAPMON_GRAFANA_URL)")
    pub.add_argument("--dir", type=Path, default=Path("deploy/grafana/dashboards"), help="dashboard JSON files")
    pub.add_argument("--folder", default="capmon", help="folder title (default capmon)")

    sch = sub.add_parser("schemas", help="write the events' JSON Schemas (or --check they are current)")
    sch.add_argument("--check", action="store_true", help="exit 1 when a committed schema is stale")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # kafka-python 3 logs every retry; capmon says what failed in one line instead
        logging.getLogger("kafka").setLevel(logging.ERROR)
        logging.getLogger("kafka").propagate = False
    try:
        return COMMANDS[args.command](args)
    except CapmonError as exc:
        print(f"capmon {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"capmon {args.command}: interrupted", file=sys.stderr)
        return 130


def simulated_records(args: argparse.Namespace, raw_bytes: bool) -> Iterator[Record]:
    """The simulator's events with the requested faults; deterministic for a seed."""
    if args.days < 0:
        raise ConfigError("--days must not be negative")
    sim = ChainSimulation(SimConfig(start=args.start, days=args.days, annual_inflow=args.scenario, seed=args.seed,
                                    initial_occupancy=args.initial_occupancy))
    faults = random.Random(f"faults-{args.seed}")
    records = inject_invalid(encode(sim.events()), args.invalid, faults, raw_bytes=raw_bytes)
    return reorder(records, args.duplicates, args.disorder, faults)


def cmd_simulate(args: argparse.Namespace) -> int:
    sink: Sink
    if args.out is not None:
        sink = FileSink(args.out)
        progress = None if str(args.out) == "-" else Progress()
    else:
        settings = load_settings()
        sink = KafkaSink(settings)
        progress = Progress()
        print(f"capmon simulate: producing to Kafka at {settings.kafka_bootstrap}"
              f"{' (topic prefix ' + settings.topic_prefix + ')' if settings.topic_prefix else ''}", file=sys.stderr)
    # the opening state (dated before --start) goes at once; pacing starts at --start
    run_feed(simulated_records(args, raw_bytes=args.out is None), sink, args.speed, progress,
             paced_from=args.start.timestamp())
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.tools.replay import Unroutable, count_lines, read_lines

    if not args.file.is_file():
        raise ConfigError(f"no such file: {args.file}")
    settings = load_settings()
    bad: list[Unroutable] = []

    def routable() -> Iterator[Record]:
        for item in read_lines(args.file):
            if isinstance(item, Unroutable):
                bad.append(item)
                print(f"capmon replay: {args.file}:{item.line_no}: cannot route: {item.reason}", file=sys.stderr)
            else:
                yield item

    sent = run_feed(routable(), KafkaSink(settings), args.speed, Progress(total=count_lines(args.file)),
                    paced_from=args.pace_from.timestamp() if args.pace_from else None)
    print(f"capmon replay: {sent:,} events produced, {len(bad):,} lines could not be routed", file=sys.stderr)
    return 1 if bad and not args.skip_unroutable else 0


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.runtime.kafka_io import ensure_topics
    from streams.runtime.topic_settings import check_topic_settings

    settings = load_settings(**({"partitions": args.partitions} if args.partitions else {}))
    created = ensure_topics(settings)
    print(f"capmon topics: created {', '.join(created)}" if created else "capmon topics: all topics exist",
          flush=True)
    check_topic_settings(settings, worker=False)  # a WARNING line per existing topic with other settings
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from streams.contract import schemas

    if args.check:
        stale = schemas.stale()
        if stale:
            print(f"capmon schemas: stale: {', '.join(stale)}; run `capmon schemas` and commit", file=sys.stderr)
            return 1
        print("capmon schemas: up to date")
        return 0
    for path in schemas.write():
        print(path)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from alerts.rules import load_rules
    from readout.users import WebUsers
    from streams.ingest.pseudonyms import fingerprint_of, pseudonyms_of
    from streams.runtime.hash_key import deployment_key
    from streams.runtime.kafka_io import check_no_old_workers, check_pseudonym_key, prepare_worker_topics, topic_id
    from streams.runtime.state_dir import ChangelogIdentity, check_writable, claim, topic_state_dir
    from streams.runtime.topic_settings import check_topic_settings

    from .worker import run_worker

    settings = load_settings()
    check_writable(settings.state_dir)
    rules_path = settings.alert_rules or DEFAULT_RULES
    rules = load_rules(rules_path) if settings.alert_rules or rules_path.exists() else []
    users = WebUsers.load(settings.web_users_file) if settings.web_users_file else None
    layout = prepare_worker_topics(settings)
    check_no_old_workers(settings)
    checked = check_topic_settings(settings)  # a WARNING line per existing topic with other settings
    changelog = Topics(settings.topic_prefix).people_changelog
    claim(topic_state_dir(settings.state_dir, settings.topic_prefix),
          ChangelogIdentity(changelog, topic_id(settings, changelog)))
    check_pseudonym_key(settings, fingerprint_of(pseudonyms_of(settings)))
    event_key = deployment_key(settings) if settings.pseudonym_key is None else None  # else that key hashes
    partitions = layout[Topics(settings.topic_prefix).registrations]
    return run_worker(settings.model_copy(update={"partitions": partitions}), args.loglevel, rules, layout, users,
                      event_key, checked)


SHOWN_INVALID_LINES = 20  # the first ones, each with its line number; then only the count


def cmd_backtest(args: argparse.Namespace) -> int:
    from alerts.backtest import backtest, format_line, write_json
    from alerts.rules import load_rules, parse_duration

    rules = load_rules(args.rules)
    try:
        step = parse_duration(args.step)
    except ValueError as exc:
        raise ConfigError(f"--step: {exc}") from None
    as_of = time.time() if args.as_of is None else _as_of(args.as_of)
    transitions = []
    settings = load_settings()
    skew = settings.max_clock_skew_s
    invalid: list[int] = []

    def report(line_no: int, reason: str) -> None:
        invalid.append(line_no)
        if len(invalid) <= SHOWN_INVALID_LINES:
            print(f"capmon backtest: {args.file}:{line_no}: invalid, left out: {reason}", file=sys.stderr)

    for t in backtest(args.file, rules, max(step, 1), everything=args.all, as_of_us=int(as_of * 1e6),
                      max_skew_s=skew, on_invalid=report, terms=settings.decision_terms,
                      outlook_days=settings.outlook_days):
        transitions.append(t)
        print(format_line(t), flush=True)
    if args.json:
        write_json(args.json, transitions)
    print(f"capmon backtest: {sum(t.kind in ('fired', 'escalated') for t in transitions)} fired, "
          f"{sum(t.kind == 'resolved' for t in transitions)} resolved; {len(invalid):,} invalid lines left out",
          file=sys.stderr)
    return 0


def _as_of(text: str) -> float:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigError(f"--as-of: not an RFC 3339 time with an offset: {text!r}")
    return when.timestamp()


def cmd_dashboards(args: argparse.Namespace) -> int:
    from streams.tools.dashboards import load_dashboards, publish

    settings = load_settings()
    url = (args.url or settings.grafana_url or "").rstrip("/")
    if not url:
        raise ConfigError("no Grafana address: set CAPMON_GRAFANA_URL or pass --url")
    if settings.grafana_token is None:
        raise ConfigError("no Grafana token: set CAPMON_GRAFANA_TOKEN or CAPMON_GRAFANA_TOKEN_FILE "
                          "(a service account token with the Editor role)")
    dashboards = load_dashboards(args.dir)
    for item in publish(url, settings.grafana_token.get_secret_value(), dashboards, args.folder):
        print(f"published {item.uid} ({item.title}) version {item.version} at {url}{item.url or ''}")
    return 0


COMMANDS = {
    "worker": cmd_worker, "backtest": cmd_backtest, "simulate": cmd_simulate, "replay": cmd_replay,
    "topics": cmd_topics, "schemas": cmd_schemas, "dashboards": cmd_dashboards,
}

__all__ = ["Settings", "main"]
