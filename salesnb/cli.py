"""The ``salesnb`` command line: ``salesnb demo``, ``salesnb validate``.

Every expected failure (bad data, bad mapping, missing files) prints a plain
message and exits 1; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from salesnb.errors import SalesnbError, SalesnbWarning

EPILOG = """\
examples:
  salesnb demo --out my-demo --seed 7 --teams 30 --months 18
  salesnb validate data/demo
  salesnb validate data/examples/salesforce
  salesnb validate duckdb:///sales.duckdb --mapping mapping.yml
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
    demo.set_defaults(run=_run_demo)

    validate = commands.add_parser(
        "validate", help="load and validate a dataset, then print a summary",
        description="Load DATA through its mapping, check everything, and print a summary; "
                    "on bad data print every problem and exit 1.")
    validate.add_argument("data", help="a folder of exports, a .xlsx/.duckdb/.sqlite file, or a "
                                       "database URL (postgresql://user@host/db)")
    validate.add_argument("--mapping", type=Path, default=None,
                          help="mapping file (default: mapping.yml in the DATA folder)")
    validate.set_defaults(run=_run_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``salesnb`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SalesnbWarning)
            code = args.run(args)
        for warning in caught:
            if issubclass(warning.category, SalesnbWarning):
                print(f"note: {warning.message}", file=sys.stderr)
        return code
    except SalesnbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was written.", file=sys.stderr)
        return 130


def _run_demo(args: argparse.Namespace) -> int:
    from salesnb import demo

    demo.generate(out=args.out, seed=args.seed, teams=args.teams, months=args.months,
                  start=args.start)
    print(f"wrote a demo dataset to {args.out} (seed {args.seed}, {args.teams} teams, "
          f"{args.months} months); planted effects in {args.out / 'truth.json'}")
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from salesnb.loading import load

    dataset = load(args.data, mapping=args.mapping)
    print("valid: all checks passed")
    print(dataset.describe())
    return 0


def _version() -> str:
    from salesnb import __version__

    return f"salesnb {__version__}"


if __name__ == "__main__":
    sys.exit(main())
