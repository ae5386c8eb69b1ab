"""The leadership brief as PDF: its published HTML printed by headless Chromium.

After the notebooks ran and their pages were checked, and before the run's manifests and
index are written, :func:`make_pdfs` prints the page of each notebook of
:data:`PDF_NOTEBOOKS`, followed by its methods page (:func:`print_copy`), to one PDF beside
it, inside the run's ``.partial`` folder, so a published run never shows a half-written
PDF. Chromium reads only the local file (``file://``; the pages load nothing from the
network), in a throw-away profile, each page with a timeout.

Without a Chromium binary (:data:`BROWSERS` on ``PATH``) no PDF is made, and the run says
so in one line (:data:`NO_BROWSER`); a page Chromium cannot print is named in that line.
Neither ever fails the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from salesnb.batch.index import BRIEF
from salesnb.batch.split import BACK_LINK_CLASS
from salesnb.batch.worker import NotebookResult

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables tried, in order (the first found on ``PATH`` prints)."""
PDF_NOTEBOOKS = (BRIEF,)
"""Notebooks whose pages (and methods pages) are printed."""
PDF_TIMEOUT_S = 120.0
"""Seconds Chromium may take for one page before it is stopped."""
METHODS_ANCHOR = "salesnb-methods-appendix"
"""Where the methods page starts inside the brief's PDF."""
_SIBLING_HREF = re.compile(r'(<a\b[^>]*?)\s+href="([A-Za-z0-9_.-]+\.html)(#[A-Za-z0-9_-]*)?"')
NO_BROWSER = "PDF: not made, no Chromium on this machine"
TURNED_OFF = "PDF: not made, turned off for this run"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                  "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                  "--disable-sync", "--disable-background-networking")


def find_browser() -> str | None:
    """The first Chromium-like browser on ``PATH`` (see :data:`BROWSERS`), or None.

    Returns
    -------
    str or None
        Its full path.
    """
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(page: Path, target: Path, browser: str,
              timeout: float = PDF_TIMEOUT_S) -> str | None:
    """Print one local HTML page to ``target`` with headless Chromium.

    The PDF is written under a temporary name and renamed when complete, so ``target`` is
    either absent or a whole PDF.

    Parameters
    ----------
    page
        The HTML file (opened as a ``file://`` URL, never a network address).
    target
        The PDF to write.
    browser
        The browser executable (:func:`find_browser`).
    timeout
        Seconds before Chromium (and every process it started) is stopped.

    Returns
    -------
    str or None
        None when the PDF was written; else why not, in a few plain words.
    """
    temp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="salesnb-chromium-") as profile:
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--print-to-pdf={temp}", page.resolve().as_uri()]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
        except OSError as exc:
            return f"Chromium could not start ({exc.strerror or exc})"
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _stop(process)  # helpers Chromium may leave behind in its session
    try:
        if code is None:
            return f"Chromium took longer than {timeout:g} s"
        if code != 0 or not temp.is_file() or temp.read_bytes()[:4] != b"%PDF":
            return f"Chromium could not print it (exit code {code})"
        os.replace(temp, target)
        return None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _stop(process: subprocess.Popen) -> None:
    """Kill the process group Chromium leads (it starts its own session), then reap it."""
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def make_pdfs(folder: Path, results: Iterable[NotebookResult], enabled: bool = True,
              notebooks: Iterable[str] = PDF_NOTEBOOKS) -> str | None:
    """Print the brief of every segment to PDF beside its page (``result.pdf`` set).

    The PDF holds the page and, after a page break, its methods page (:func:`print_copy`):
    one file to send, whose link to the appendix leads inside it.

    Parameters
    ----------
    folder
        The run's ``.partial`` folder (the pages are in ``<segment>/``).
    results
        Every notebook result of the run; those of ``notebooks`` with a page get ``pdf``
        when it was printed.
    enabled
        False: print nothing (``--no-pdf``).
    notebooks
        Stems of the notebooks to print (default :data:`PDF_NOTEBOOKS`).

    Returns
    -------
    str or None
        One line for the run output and the index when a PDF was not made (no browser,
        turned off, a page that failed); None when every PDF was made or none was due.
    """
    wanted = set(notebooks)
    due = [r for r in results if r.notebook in wanted and r.html]
    if not due:
        return None
    if not enabled:
        return TURNED_OFF
    browser = find_browser()
    if browser is None:
        return NO_BROWSER
    problems = []
    for result in due:
        pages = folder / result.segment
        copy = pages / f".{result.notebook}.print{os.getpid()}.html"
        target = pages / f"{result.notebook}.pdf"
        try:
            copy.write_text(print_copy(pages, str(result.html), result.methods_html),
                            encoding="utf-8")
            problem = print_pdf(copy, target, browser)
        except OSError as exc:
            problem = f"the page could not be prepared ({exc.strerror or exc})"
        finally:
            with contextlib.suppress(OSError):
                copy.unlink()
        if problem is None:
            result.pdf = target.name
        else:
            problems.append(f"{result.segment}/{result.html}: {problem}")
    if problems:
        return f"PDF: not made for {'; '.join(problems)}"
    return None


def print_copy(folder: Path, page: str, methods: str | None = None) -> str:
    """The HTML to print for ``page``: the page, then its methods page on a new sheet.

    Chromium writes every link of a PDF as an absolute address, so a link to a sibling
    page would point into the ``.partial`` folder of this machine. In the copy, a link to
    the methods page leads to the appendix inside the document, and every other link to a
    sibling page keeps its text but loses its target.

    Parameters
    ----------
    folder
        The segment's folder, holding both pages.
    page, methods
        File names of the page and of its methods page (None: none).

    Returns
    -------
    str
        A complete HTML document.
    """
    text = (folder / page).read_text(encoding="utf-8")
    if methods:
        appendix = (folder / methods).read_text(encoding="utf-8")
        body = appendix[appendix.index(">", appendix.index("<body")) + 1:
                        appendix.rindex("</body>")]
        section = (f'<section id="{METHODS_ANCHOR}" style="break-before: page">{body}'
                   "</section>")
        end = text.rindex("</body>")
        text = text[:end] + section + text[end:]
        head = text.index("</head>")  # the appendix's link back makes no sense in the PDF
        text = f"{text[:head]}<style>.{BACK_LINK_CLASS} {{ display: none; }}</style>{text[head:]}"

    def relink(match: re.Match[str]) -> str:
        if methods and match.group(2) == methods:
            return f'{match.group(1)} href="#{METHODS_ANCHOR}"'
        return match.group(1)

    return _SIBLING_HREF.sub(relink, text)
