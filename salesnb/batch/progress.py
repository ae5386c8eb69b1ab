"""Progress of a run a person can follow: done and failed, the segment, time left.

On a terminal a tqdm bar (``report 2026-12-02_0405: 12/35 [00:31<00:58, ok=11, failed=1,
segment=region = North]``); without one (a log, CI, ``make report | tee``) one line per
finished notebook with its own time and the estimate for the rest::

    [ 3/35] ok      02_cac_overview           region = North     9.2 s   about 1 min 40 s left

The estimate is the run's wall time so far per finished notebook (so the workers running
side by side are counted) times the notebooks left.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Report each finished notebook of a run.

    Parameters
    ----------
    total
        Notebooks in the run.
    name
        The run's name (the bar's label).
    enabled
        True: a bar; False: nothing; None: a bar on a terminal, lines otherwise.
    stream
        Where to write (default: standard error).
    """

    def __init__(self, total: int, name: str, enabled: bool | None = None,
                 stream: TextIO | None = None):
        from tqdm.auto import tqdm

        self.stream = stream if stream is not None else sys.stderr
        self.total, self.done, self.failed = total, 0, 0
        self.started = time.monotonic()
        terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.lines = enabled is None and not terminal
        self.bar = tqdm(total=total, desc=f"report {name}", unit="nb", file=self.stream,
                        disable=not (enabled or (enabled is None and terminal)))

    def finished(self, notebook: str, segment: str, ok: bool, seconds: float) -> None:
        """One notebook ended (``ok`` or failed) after ``seconds``."""
        self.done += 1
        self.failed += not ok
        self.bar.set_postfix(ok=self.done - self.failed, failed=self.failed, segment=segment,
                             refresh=False)
        self.bar.update()
        if self.lines:
            status = "ok" if ok else "FAILED"
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {status:<7} {notebook:<26} "
                  f"{segment:<18} {seconds:6.1f} s   {self.left()}", file=self.stream,
                  flush=True)

    def left(self) -> str:
        """The estimated time to the end, in words ("about 1 min 40 s left", "done")."""
        remaining = self.total - self.done
        if remaining <= 0:
            return f"done in {_duration(time.monotonic() - self.started)}"
        elapsed = time.monotonic() - self.started
        return f"about {_duration(elapsed / self.done * remaining)} left"

    def close(self) -> None:
        """End the bar."""
        self.bar.close()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
