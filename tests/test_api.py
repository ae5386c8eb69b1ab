"""The public API and the command line surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import salesnb
from salesnb.cli import build_parser, main
from tests.conftest import PROJECT_DIR


def test_import_is_light():
    """``import salesnb`` must not pull in pandas and friends (notebook and CLI start-up)."""
    code = ("import sys, salesnb; heavy = [m for m in ('pandas', 'numpy', 'pandera', "
            "'statsmodels', 'sqlalchemy', 'matplotlib') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_names_resolve():
    assert callable(salesnb.load)
    assert callable(salesnb.demo.generate)
    assert issubclass(salesnb.ValidationError, salesnb.SalesnbError)
    with pytest.raises(AttributeError):
        salesnb.not_a_thing  # noqa: B018


def test_help_documents_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    commands = build_parser()._subparsers._group_actions[0].choices
    for command, parser in commands.items():
        assert command in text
        sub_help = " ".join(parser.format_help().split())
        for action in parser._actions:
            assert action.help, f"{command} {action.dest} has no help text"
            assert " ".join(action.help.split()) in sub_help


def test_validate_demo_prints_a_summary(capsys):
    assert main(["validate", str(PROJECT_DIR / "data" / "demo")]) == 0
    out = capsys.readouterr().out
    for label in ("rows:", "periods:", "teams:", "leaders:", "tactic spend:", "new customers:",
                  "open deals:"):
        assert label in out
    assert "2024-01 to 2025-12" in out


@pytest.mark.slow
def test_cli_runs_as_a_module_and_exits_1_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "salesnb.cli", "validate", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "mapping.yml" in result.stderr and "Traceback" not in result.stderr
