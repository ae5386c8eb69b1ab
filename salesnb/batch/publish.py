"""Publishing a run: the reserved ``.partial`` folder, manifests, the leak check, the rename."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from salesnb.batch.plan import RunPlan, output_error, run_name
from salesnb.batch.redaction import Secrets, leaking_files, masked, redact
from salesnb.batch.results import SegmentReport
from salesnb.batch.worker import write_atomic
from salesnb.errors import SalesnbError
from salesnb.paths import checkout_dir

DEFAULT_CURRENCY = "USD"
"""The notebooks' default ``currency`` parameter (money columns of the index are in it)."""
VERSIONED_PACKAGES = ("salesnb", "pandas", "numpy", "statsmodels", "ibis-framework", "duckdb",
                      "matplotlib", "seaborn", "papermill", "nbconvert", "ipykernel")


def reserve_partial(plan: RunPlan, attempts: int = 20) -> None:
    """Create ``plan.partial_folder``; a taken default name moves on to the next free one.

    Raises
    ------
    SalesnbError
        The name is taken, or the reports folder is a file or cannot be written (read-only,
        full); nothing is left behind then.
    """
    try:
        plan.root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SalesnbError(f"the reports folder {plan.root} is a file, not a folder; choose "
                           "another --out.") from None
    except OSError as exc:
        raise output_error(exc, plan.root) from None
    for _ in range(attempts):
        try:
            plan.partial_folder.mkdir()
        except OSError as exc:
            if not isinstance(exc, FileExistsError):
                raise output_error(exc, plan.root) from None
            if not plan.default_name:
                raise SalesnbError(
                    f"{plan.partial_folder} exists: another run is writing it, or an "
                    "interrupted run left it behind (then delete it).") from None
        else:
            if not plan.folder.exists():
                return
            plan.partial_folder.rmdir()  # a run of that name was published meanwhile
            if not plan.default_name:
                raise SalesnbError(f"run folder {plan.folder} already exists and is never "
                                   "overwritten; choose another --name.")
        plan.name = run_name(plan.root, None)
    raise SalesnbError(f"no free run name in {plan.root} after {attempts} attempts; "
                       "choose one with --name.")


def refuse_leaks(plan: RunPlan) -> None:
    """Last check before publishing: no file of the run shows a password."""
    if not plan.secrets:
        return
    files = sorted(p for p in plan.partial_folder.rglob("*") if p.is_file())
    leaking = leaking_files(files, plan.secrets)
    if not leaking:
        return
    for path in leaking:
        path.unlink()
    names = ", ".join(str(p.relative_to(plan.partial_folder)) for p in leaking)
    raise SalesnbError(f"not published: {len(leaking)} file(s) would show a password ({names}); "
                       f"they were deleted, the rest of the run is in {plan.partial_folder}.")



def abandon(plan: RunPlan, exc: OSError, doing: str = "write the run") -> SalesnbError:
    """Delete the unfinished run after a file-system failure; the error to raise for it.

    A run that cannot be written completely (disk full, folder made read-only) is not kept
    half-written: its ``.partial`` folder is removed, which also frees the space it took.
    """
    shutil.rmtree(plan.partial_folder, ignore_errors=True)
    error = output_error(exc, plan.root, doing)
    error.add_note(f"nothing was published; the unfinished run {plan.partial_folder.name} "
                   "was removed")
    return error


def write_outputs(plan: RunPlan, reports: list[SegmentReport], duration: float,
                  pdf_note: str | None = None) -> None:
    """Write every segment's manifest, the run manifest and the index into ``.partial``.

    ``pdf_note`` (from :func:`salesnb.batch.pdf.make_pdfs`) is recorded in the run manifest
    and shown on the index.

    Raises
    ------
    SalesnbError
        A file could not be written (see :func:`abandon`: the ``.partial`` folder is gone).
    """
    try:
        _write_outputs(plan, reports, duration, pdf_note)
    except OSError as exc:
        raise abandon(plan, exc, "write the run's manifests and index") from None


def _write_outputs(plan: RunPlan, reports: list[SegmentReport], duration: float,
                   pdf_note: str | None) -> None:
    from salesnb.batch.index import index_html

    context = _run_context(plan)
    for report in reports:
        entry = _segment_entry(report)
        del entry["results"]  # the full records follow
        manifest = {**context, "segment": entry,
                    "notebooks": [asdict(r) for r in report.results]}
        _write_json(plan.partial_folder / report.segment.folder / "manifest.json", manifest,
                    plan.secrets)
    run_manifest = {**context, "duration_s": duration,
                    "status": "failed" if any(r.failed for r in reports) else "ok",
                    "pdf_note": pdf_note,
                    "segments": [_segment_entry(r) for r in reports]}
    _write_json(plan.partial_folder / "manifest.json", run_manifest, plan.secrets)
    page = index_html(redact(run_manifest, plan.secrets))
    write_atomic(plan.partial_folder / "index.html", redact(page, plan.secrets))


def _run_context(plan: RunPlan) -> dict[str, Any]:
    return {
        "run": plan.name,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "input": {"source": masked(plan.data, plan.secrets), "mapping": plan.mapping,
                  "fingerprint": plan.dataset.fingerprint},
        "segment_by": plan.by,
        "parameters": {k: masked(v, plan.secrets) for k, v in plan.params.items()},
        "currency": str(plan.params.get("currency") or DEFAULT_CURRENCY),
        "suite": [str(nb) for nb in plan.notebooks],
        "versions": package_versions(),
        "git": git_revision(),
    }


def _segment_entry(report: SegmentReport) -> dict[str, Any]:
    return {"folder": report.segment.folder, "by": report.segment.by,
            "value": report.segment.value, "label": report.segment.label,
            "status": "failed" if report.failed else "ok",
            "headline": report.headline, "headline_error": report.headline_error,
            "facts": report.facts,
            "failed_notebooks": [r.notebook for r in report.failed],
            "results": [{"notebook": r.notebook, "status": r.status, "html": r.html,
                         "ipynb": r.ipynb, "methods_html": r.methods_html, "pdf": r.pdf,
                         "duration_s": r.duration_s,
                         "failing_cell": r.failing_cell, "error": r.error}
                        for r in report.results]}


def _write_json(path: Path, payload: dict[str, Any], secrets: Secrets) -> None:
    write_atomic(path, json.dumps(redact(payload, secrets), indent=2, default=str) + "\n")


def publish_run(plan: RunPlan) -> None:
    """Rename ``.partial`` to the run folder, never over an existing one.

    ``os.rename`` silently replaces an existing *empty* directory, so the
    target is first created with ``mkdir`` (which fails if anything has that
    name) and only this run's own empty folder is then replaced.
    """
    try:
        plan.folder.mkdir()
    except FileExistsError:
        raise SalesnbError(f"run folder {plan.folder} appeared while running; this run is "
                           f"left in {plan.partial_folder}.") from None
    except OSError as exc:  # full, or made read-only while running
        raise abandon(plan, exc, "publish the run") from None
    try:
        os.rename(plan.partial_folder, plan.folder)
    except OSError as exc:  # something wrote into the reserved folder meanwhile
        with contextlib.suppress(OSError):
            plan.folder.rmdir()  # only if still the empty folder made above
        raise SalesnbError(f"could not publish {plan.folder} ({exc}); this run is left in "
                           f"{plan.partial_folder}.") from None


def package_versions() -> dict[str, str | None]:
    """Installed versions of salesnb and the packages a report's numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(folder: Path | None = None) -> dict[str, Any]:
    """The project's git commit and whether tracked files differ from it.

    ``folder`` defaults to the salesnb checkout this package runs from; an installed wheel
    has none, and then both values are None (never the revision of an unrelated repository
    the environment happens to sit in).
    """
    folder = folder if folder is not None else checkout_dir()
    if folder is None:
        return {"revision": None, "dirty": None}

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                                  text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if revision else None
    return {"revision": revision, "dirty": bool(status) if status is not None else None}

