"""The ``salesnb`` command line: ``salesnb demo``, ``salesnb validate``, ``salesnb report``.

Every expected failure (bad data, bad mapping, missing files) prints a plain
message and exits 1; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from salesnb.errors import SalesnbError, SalesnbWarning
from salesnb.io.sources import OUTSIDE_DATA_VARIABLE
from salesnb.secrets import mask_urls_in_text, text_secrets

EPILOG = """\
examples:
  salesnb demo --out my-demo --seed 7 --teams 30 --months 18
  salesnb demo --out my-totals --totals week && salesnb report --data my-totals
  salesnb map exports/ && salesnb validate exports/
  salesnb validate data/demo
  salesnb validate data/examples/salesforce
  salesnb validate duckdb:///sales.duckdb --mapping mapping.yml
  salesnb report --by region --jobs 2
  salesnb report --data exports/ --by team --segments T01,T02 --param period_start=2024-07
  salesnb report --notebooks 01 03 --name q3-review --out ~/reports
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command and option, with help)."""
    parser = argparse.ArgumentParser(
        prog="salesnb",
        description="Which sales tactics, under which sales leadership, win customers at the "
                    "lowest cost, and how sure is that?",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="write a synthetic dataset with planted, documented effects",
        description="Write a synthetic dataset (CSV/Parquet, mapping.yml and truth.json, the "
                    "planted effects) into a new folder.")
    demo.add_argument("--out", required=True, type=Path,
                      help="folder to create (must not exist or be empty)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--teams", type=int, default=40, help="number of sales teams (default 40)")
    demo.add_argument("--months", type=int, default=24, help="number of months (default 24)")
    demo.add_argument("--start", default="2024-01", help="first month, YYYY-MM (default 2024-01)")
    demo.add_argument("--totals", choices=("week", "month"),
                      help="instead: totals over time for the marketing-mix notebook (customers "
                           "not tagged with a tactic), weekly or monthly, 3 years")
    demo.add_argument("--markets", type=int, default=1,
                      help="with --totals: markets, each with a sales leader when more than "
                           "one (default 1: the whole company)")
    demo.set_defaults(run=_run_demo)

    validate = commands.add_parser(
        "validate", help="load and validate a dataset, then print a summary",
        description="Load DATA through its mapping, check everything, and print a summary; "
                    "on bad data print every problem and exit 1.")
    validate.add_argument("data", help="a folder of exports, a .xlsx/.duckdb/.sqlite file, or a "
                                       "database URL (postgresql://user@host/db)")
    validate.add_argument("--mapping", type=Path, default=None,
                          help="mapping file (default: mapping.yml in the DATA folder)")
    _outside_data_option(validate)
    validate.set_defaults(run=_run_validate)
    propose = commands.add_parser(
        "map", help="propose a commented mapping.yml for a folder of exports",
        description="Read the headers and a sample of every export in FOLDER and write a "
                    "commented mapping (best guess per field, alternatives and TODOs in "
                    "comments); say what is missing for which analysis. Never overwrites a "
                    "file.")
    propose.add_argument("folder", type=Path,
                         help="a folder of exports (.csv, .tsv, .xlsx, .parquet)")
    propose.add_argument("--out", type=Path, default=None,
                         help="the mapping file to write (default: FOLDER/mapping.yml); "
                              "never overwritten")
    propose.set_defaults(run=_run_map)
    _add_report(commands)
    return parser


def _add_report(commands: argparse._SubParsersAction) -> None:
    from salesnb.batch.plan import REPORTS_DIR
    from salesnb.paths import DEMO_DIR

    report = commands.add_parser(
        "report", help="run the notebook suite for every segment and publish HTML reports",
        description="Run the parameterised notebooks with papermill for every segment, in "
                    "parallel, into a new folder OUT/NAME/: per segment the executed "
                    "notebooks, leadership HTML without code and a manifest.json; an "
                    "index.html lists every segment. Exits 1 if any notebook failed.")
    report.add_argument("--data", default=str(DEMO_DIR),
                        help="a folder of exports, a .xlsx/.duckdb/.sqlite file or a database "
                             "URL (default: the bundled demo data)")
    report.add_argument("--mapping", type=Path, default=None,
                        help="mapping file (default: mapping.yml in the DATA folder)")
    report.add_argument("--by", default=None,
                        help="one report per distinct value of: region, segment, industry, "
                             "team (team_id), leader (leader_id); default: one segment 'all'")
    report.add_argument("--segments", default=None, metavar="V1,V2",
                        help="with --by: only these values (comma-separated)")
    report.add_argument("--include-all", action="store_true",
                        help="with --by: also report on the whole dataset (segment 'all')")
    report.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="notebook parameter (repeatable); VALUE is read as a literal: "
                             "3, 0.5, true, None, text; e.g. period_start=2024-07")
    report.add_argument("--notebooks", nargs="+", default=None, metavar="NB",
                        help="run only these notebooks: names (03_tactics, tactics, 03) or "
                             ".ipynb paths (default: every notebooks/NN_*.ipynb)")
    report.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="worker processes running notebooks in parallel "
                             "(default: CPUs, at most 4)")
    report.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads per worker and per notebook kernel "
                             "(default 1: the workers already use the CPUs; more is slower "
                             "on a busy machine)")
    report.add_argument("--out", type=Path, default=REPORTS_DIR,
                        help="reports folder (default: reports/ in the current folder)")
    report.add_argument("--name", default=None,
                        help="run folder name (default: a timestamp); an existing run is "
                             "never overwritten")
    report.add_argument("--timeout", type=float, default=1800, metavar="SECONDS",
                        help="longest time one notebook cell may run; a notebook that exceeds "
                             "it is stopped and recorded as failed (default 1800; 0: no limit)")
    report.add_argument("--no-pdf", action="store_true",
                        help="do not print the leadership brief to PDF (made with headless "
                             "Chromium when it is installed)")
    report.add_argument("--engine", choices=("auto", "on", "off"), default=None,
                        help="keep the deals of a folder of Parquet/CSV exports in DuckDB "
                             "instead of pandas: auto (default; from 2 million Parquet deal "
                             "rows), on, off; sets SALESNB_ENGINE for the notebooks")
    report.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is off anyway when stderr is not a terminal)")
    _outside_data_option(report)
    report.set_defaults(run=_run_report)
    cache = commands.add_parser(
        "cache", help="where the result cache is, how big it is; or empty it",
        description="Results (loaded data, model suites, curves...) are kept in a cache "
                    "folder and reused while the data, mapping, parameters and salesnb's code "
                    "are unchanged. SALESNB_CACHE_DIR chooses the folder ('off': no cache).")
    cache.add_argument("action", nargs="?", choices=("info", "clear"), default="info",
                       help="info (default): folder, entries and size; clear: delete them")
    cache.set_defaults(run=_run_cache)


def _outside_data_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--allow-outside-data", action="store_true",
                         help="let the mapping read files outside the DATA folder (absolute "
                              "paths, ../); refused by default")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``salesnb`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    with _settings_for_the_run(args):
        return _main(args, argv)


@contextlib.contextmanager
def _settings_for_the_run(args: argparse.Namespace) -> Iterator[None]:
    """Put the options the report's notebooks inherit into the environment for this run,
    and restore what was there after it (``main`` may be called many times in one process).
    """
    settings = {}
    if getattr(args, "allow_outside_data", False):
        settings[OUTSIDE_DATA_VARIABLE] = "1"
    if getattr(args, "engine", None):
        from salesnb.engine.segments import ENGINE_ENV

        settings[ENGINE_ENV] = args.engine
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _main(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    secrets = text_secrets(a for a in (sys.argv[1:] if argv is None else argv) if "://" in a)

    def say(kind: str, message: object) -> None:  # every URL credential masked, as a backstop
        print(f"{kind}: {mask_urls_in_text(str(message), secrets)}", file=sys.stderr)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SalesnbWarning)
            code = args.run(args)
        for warning in caught:
            if issubclass(warning.category, SalesnbWarning):
                say("note", warning.message)
        return code
    except SalesnbError as exc:
        say("error", exc)
        for note in getattr(exc, "__notes__", []):
            say("note", note)
        return 1
    except BrokenPipeError:  # `salesnb validate DATA | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except KeyboardInterrupt as exc:
        number = getattr(exc, "signal", signal.SIGINT)
        print(f"interrupted ({signal.Signals(number).name}); nothing was written.",
              file=sys.stderr)
        return 128 + number


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised as Ctrl-C so that the same clean-up runs."""

    def __init__(self, number: int):
        super().__init__(f"received {signal.Signals(number).name}")
        self.signal = number


@contextlib.contextmanager
def signals_as_interrupt(numbers: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)
                         ) -> Iterator[None]:
    """Turn the first of these signals into :class:`Terminated` (later ones are ignored,
    so the clean-up is not interrupted); the previous handlers come back afterwards.
    """
    def handler(number: int, frame: object) -> None:
        for each in numbers:
            signal.signal(each, signal.SIG_IGN)
        raise Terminated(number)

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = {number: signal.signal(number, handler) for number in numbers}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _run_demo(args: argparse.Namespace) -> int:
    from salesnb.synthetic import demo, mix_demo

    if args.totals:
        mix_demo.generate(out=args.out, seed=args.seed, period=args.totals,
                          markets=args.markets, leaders=args.markets > 1)
        print(f"wrote {args.totals}ly totals over time to {args.out} (seed {args.seed}, "
              f"{args.markets} market(s)); planted effects in {args.out / 'truth.json'}")
        return 0
    demo.generate(out=args.out, seed=args.seed, teams=args.teams, months=args.months,
                  start=args.start)
    print(f"wrote a demo dataset to {args.out} (seed {args.seed}, {args.teams} teams, "
          f"{args.months} months); planted effects in {args.out / 'truth.json'}")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from salesnb.io.loading import load

    dataset = load(args.data, mapping=args.mapping)
    print("valid: all checks passed")
    print(dataset.describe())
    return 0


def _run_map(args: argparse.Namespace) -> int:
    from salesnb.io.propose import propose_mapping

    proposal = propose_mapping(args.folder)
    out = proposal.write(args.out or args.folder / "mapping.yml")
    print(f"wrote a proposed mapping to {out}: {', '.join(proposal.tables)}")
    for line in proposal.missing:
        print(f"  not yet: {line}")
    check = f" --mapping {out}" if args.out else ""
    print(f"next: fix the TODO lines in {out}, then run `salesnb validate {args.folder}{check}`")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from salesnb import batch

    if args.jobs < 1:
        raise SalesnbError("--jobs must be at least 1.")
    if args.timeout < 0:
        raise SalesnbError("--timeout must be 0 (no limit) or more seconds.")
    if args.threads < 1:
        raise SalesnbError("--threads must be at least 1.")
    only = [v.strip() for v in args.segments.split(",") if v.strip()] if args.segments else None
    if only and not args.by:
        raise SalesnbError("--segments needs --by (which column the values belong to).")
    plan = batch.plan_run(args.data, mapping=args.mapping, by=args.by,
                          params=dict(batch.parse_param(p) for p in args.param),
                          notebooks=args.notebooks, out=args.out, name=args.name, only=only,
                          include_all=args.include_all,
                          say=lambda message: print(message, file=sys.stderr))
    print(f"running {len(plan.notebooks)} notebook(s) x {len(plan.segments)} segment(s) "
          f"with {args.jobs} worker(s) into {plan.partial_folder}", file=sys.stderr)
    with signals_as_interrupt():
        result = batch.execute(plan, jobs=args.jobs, progress=False if args.no_progress else None,
                               timeout=args.timeout or None, pdf=not args.no_pdf,
                               threads=args.threads)
    print(result.summary())
    print(f"index: {result.index}")
    return 1 if result.failed else 0


def _run_cache(args: argparse.Namespace) -> int:
    from salesnb import cache

    folder = cache.cache_folder()
    if folder is None:
        print(f"the result cache is off ({cache.CACHE_ENV}=off)")
        return 0
    if args.action == "clear":
        print(f"deleted {cache.clear()} cached result(s) in {folder}")
        return 0
    entries = list(folder.rglob("*.pickle")) if folder.is_dir() else []
    size = sum(entry.stat().st_size for entry in entries)
    print(f"result cache: {folder}\n{len(entries)} result(s), {size / 1e6:.1f} MB "
          f"(salesnb cache clear empties it; {cache.CACHE_ENV} moves it)")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"salesnb {version('salesnb')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "salesnb (not installed)"


if __name__ == "__main__":
    sys.exit(main())
