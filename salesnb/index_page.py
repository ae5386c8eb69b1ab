"""The run-level ``index.html``: every segment, its headline figures, links, failures marked.

Self-contained (inline CSS, no script, nothing from the network), so it opens
from a file share or an e-mail attachment. Every value is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesnb.batch import NotebookResult, SegmentReport

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       max-width: 72rem; margin: 2rem auto; padding: 0 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.meta { color: #555; margin: .1rem 0; }
.status { font-weight: 600; padding: .1rem .5rem; border-radius: .3rem; }
.status.ok { background: #e3f5e6; color: #135c22; }
.status.failed { background: #fdecee; color: #b00020; }
table { border-collapse: collapse; width: 100%; margin-top: 1.2rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
th { background: #f5f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td:first-child { border-left: 4px solid #b00020; }
ul.reports { margin: 0; padding-left: 1rem; }
li.failed, .error { color: #b00020; }
.error { font-size: .9em; }
"""


def index_html(run: dict[str, Any], segments: Sequence[SegmentReport]) -> str:
    """Render the run's index page.

    Parameters
    ----------
    run
        The run manifest (``run``, ``created``, ``input``, ``status``,
        ``duration_s``, ``git``); values must already be masked.
    segments
        One report per segment, in display order.

    Returns
    -------
    str
        A complete HTML document.
    """
    failed = sum(len(s.failed) for s in segments)
    total = sum(len(s.results) for s in segments)
    status = "failed" if failed else "ok"
    verdict = (f"{failed} of {total} notebooks FAILED" if failed
               else f"all {total} notebooks ok")
    source = run["input"]
    revision = (run.get("git") or {}).get("revision") or "unknown"
    rows = "\n".join(_segment_row(s) for s in segments)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sales reports: {escape(run['run'])}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>Sales reports: {escape(run['run'])}</h1>
<p class="meta">Created {escape(run['created'])} in {run['duration_s']:.0f} s;
<span class="status {status}">{escape(verdict)}</span></p>
<p class="meta">Data: {escape(str(source['source']))}
(fingerprint <code>{escape(source['fingerprint'][:16])}</code>);
code revision <code>{escape(revision[:12])}</code></p>
<p class="meta">Headline figures are computed by the runner for each segment: total cost is
tactic spend plus all people cost of the sales teams (reps' cost, including months with no
tactic activity); blended CAC is total cost per new customer.</p>
<table>
<thead><tr><th>Segment</th><th>Status</th><th>Total cost</th><th>New customers</th>
<th>Blended CAC</th><th>Reports</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def _segment_row(report: SegmentReport) -> str:
    status = "failed" if report.failed else "ok"
    label = "FAILED" if report.failed else "ok"
    figures = report.headline
    if figures is None:
        cells = (f'<td colspan="3" class="error">no headline: '
                 f"{escape(report.headline_error or 'unknown error')}</td>")
    else:
        cac = figures["blended_cac"]
        cells = (f'<td class="num">{figures["total_cost"]:,.0f}</td>'
                 f'<td class="num">{figures["new_customers"]:,}</td>'
                 f'<td class="num">{"undefined (no customers)" if cac is None else f"{cac:,.0f}"}'
                 "</td>")
    links = "\n".join(_notebook_item(report.segment.folder, r) for r in report.results)
    return (f'<tr class="{status}"><td>{escape(report.segment.label)}</td>'
            f'<td><span class="status {status}">{label}</span></td>{cells}'
            f'<td><ul class="reports">{links}</ul></td></tr>')


def _notebook_item(folder: str, result: NotebookResult) -> str:
    name = escape(result.notebook)
    link = (f'<a href="{escape(folder)}/{escape(result.html)}">{name}</a>' if result.html
            else name)
    if result.ok:
        return f"<li>{link}</li>"
    error = result.error or {"name": "Error", "message": ""}
    cell = (result.failing_cell or {}).get("cell_index")
    where = f" in cell {cell}" if cell is not None else ""
    message = error["message"].strip().splitlines()[0] if error["message"].strip() else ""
    notebook = (f' (<a href="{escape(folder)}/{escape(result.ipynb)}">notebook</a>)'
                if result.ipynb else "")
    return (f'<li class="failed">{link}: <strong>FAILED</strong>{escape(where)}{notebook}'
            f'<br><span class="error">{escape(error["name"])}: {escape(message)}</span></li>')
