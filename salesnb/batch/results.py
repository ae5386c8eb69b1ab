"""What a finished batch run reports: per segment and for the whole run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesnb.batch.index import BRIEF
from salesnb.batch.plan import RunPlan, Segment
from salesnb.batch.worker import NotebookResult


@dataclass
class SegmentReport:
    """One segment of a finished run: headline figures and its notebooks' results."""

    segment: Segment
    headline: dict[str, Any] | None
    headline_error: str | None
    results: list[NotebookResult]

    @property
    def failed(self) -> list[NotebookResult]:
        """The notebooks that failed in this segment."""
        return [r for r in self.results if not r.ok]

    @property
    def facts(self) -> dict[str, Any] | None:
        """The headline facts a notebook of this segment displayed (the brief's first)."""
        shown = sorted((r for r in self.results if r.facts is not None),
                       key=lambda r: r.notebook != BRIEF)
        return shown[0].facts if shown else None


@dataclass
class RunResult:
    """A finished run: where it is and what happened to every notebook."""

    plan: RunPlan
    folder: Path
    segments: list[SegmentReport]
    duration_s: float
    pdf_note: str | None = None
    """Why a PDF was not made (no Chromium, turned off, a page failed); None: all made."""

    @property
    def failed(self) -> list[NotebookResult]:
        """Every failed notebook, all segments."""
        return [r for s in self.segments for r in s.failed]

    @property
    def index(self) -> Path:
        """The run's ``index.html``."""
        return self.folder / "index.html"

    def summary(self) -> str:
        """A few lines for the terminal: counts, failures, where the index is."""
        total = sum(len(s.results) for s in self.segments)
        lines = [f"{total - len(self.failed)} of {total} notebooks ok in "
                 f"{len(self.segments)} segment(s), {self.duration_s:.1f} s"]
        for r in self.failed:
            cell = (r.failing_cell or {}).get("cell_index")
            where = f" (cell {cell})" if cell is not None else ""
            error = r.error or {"name": "Error", "message": ""}
            lines.append(f"  FAILED {r.segment}/{r.notebook}{where}: {error['name']}: "
                         f"{first_line(error['message'])}")
        if self.pdf_note:
            lines.append(self.pdf_note)
        return "\n".join(lines)



def first_line(text: str) -> str:
    """The first line of ``text`` (empty for blank text)."""
    lines = text.strip().splitlines()
    return lines[0] if lines else ""
