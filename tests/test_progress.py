"""Progress of a run without a terminal: one line per finished notebook, time left."""

from __future__ import annotations

import io
import re

from salesnb.batch.progress import Progress


def test_without_a_terminal_each_notebook_gets_a_line_with_the_time_left():
    stream = io.StringIO()  # not a terminal
    progress = Progress(4, "run", None, stream=stream)
    progress.finished("00_leadership_brief", "Region North", True, 12.34)
    progress.finished("01_data_quality", "Region North", False, 2.0)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.match(r"\[1/4\] ok +00_leadership_brief +Region North +12\.3 s +about \d+ s left",
                    lines[0])
    assert lines[1].startswith("[2/4] FAILED  01_data_quality")
    assert (progress.done, progress.failed) == (2, 1)


def test_the_last_line_says_done_and_off_means_silent():
    stream = io.StringIO()
    progress = Progress(1, "run", None, stream=stream)
    progress.finished("05_drivers_model", "All teams", True, 1.0)
    assert stream.getvalue().rstrip().endswith(("done in 0 s", "done in 1 s"))
    quiet = io.StringIO()
    silent = Progress(2, "run", False, stream=quiet)
    silent.finished("05_drivers_model", "All teams", True, 1.0)
    silent.close()
    assert quiet.getvalue() == ""
