"""Benchmark: the row-level id guard on a realistic leadership page, 250,000 ids.

    python benchmarks/guard_bench.py                       # 250,000 ids, baseline included
    python benchmarks/guard_bench.py --ids 50000 250000 --no-baseline

The page is a real leadership HTML (``salesnb.batch.html.notebook_to_html``) of a notebook
like the suite's: headings and bullets, formatted tables of aggregates (pandas Stylers),
PNG charts, a failed step; a second page (``leak``) also shows a small table of deals, accounts
and reps (what the guard exists to catch). The ids mix what CRM exports hold: opportunity and lead
ids (one word each), account ids and account *names* (``Müller & Söhne GmbH``), rep
e-mail addresses and names, leader ids.

The baseline is the guard before the hardening (copied below, unchanged): word tokens of the
raw HTML, then one regex search per id with punctuation. Its results differ on purpose:
it searches raw HTML, so an id with ``&``, ``<`` or ``>`` is never found (the page shows it
escaped). The table's last column says which ids each finds on the page with the leak.
"""

from __future__ import annotations

import argparse
import base64
import io
import platform
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FIRST = ("Anna", "Ben", "Chloé", "David", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kira", "Liam", "Maya", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tara")
LAST = ("Smith", "Müller", "O'Brien", "García", "Nowak", "Rossi", "Dubois", "Jansen",
        "Kowalski", "Silva", "Novak", "Berg", "Costa", "Fischer", "Lambert", "Moreau")
FORMS = ("GmbH", "Ltd", "Inc.", "S.A.", "& Co", "AG", "B.V.", "(UK) Ltd", "<Holdings>")


def make_ids(total: int, seed: int = 7) -> dict[str, list[str]]:
    """``total`` distinct ids by kind, in the proportions of a mid-sized CRM export.

    Each kind has a random generator of its own, so the first ids of a kind are the same
    for every ``total`` (the planted leak is in every id set).
    """
    shares = {"deal_id": 0.60, "lead_id": 0.08, "customer_id": 0.12, "customer_name": 0.12,
              "rep_email": 0.06, "rep_name": 0.0176, "leader_id": 0.0024}
    counts = {kind: int(total * share) for kind, share in shares.items()}
    counts["deal_id"] += total - sum(counts.values())
    names, emails, people = (random.Random(f"{seed}-{kind}") for kind in ("a", "e", "p"))
    words = [f"{a}{b}" for a in ("Nor", "Sud", "Alp", "Bay", "Cor", "Del", "Eko", "Fin")
             for b in ("tech", "data", "logic", "works", "soft", "med", "bau", "trans")]
    ids: dict[str, list[str]] = {
        "deal_id": [f"OPP-2024-{i:07d}" for i in range(counts["deal_id"])],
        "lead_id": [f"00Q5g{i:010d}AB" for i in range(counts["lead_id"])],
        "customer_id": [f"ACC-{i:06d}" for i in range(counts["customer_id"])],
        "customer_name": [f"{names.choice(words)} {names.choice(LAST)} {i} "
                          f"{names.choice(FORMS)}" for i in range(counts["customer_name"])],
        "rep_email": [f"{emails.choice(FIRST).lower()}.{i}@sales.example.com"
                      for i in range(counts["rep_email"])],
        "rep_name": [f"{people.choice(FIRST)} {people.choice(LAST)}-{i}"
                     for i in range(counts["rep_name"])],
        "leader_id": [f"L-{i:04d}" for i in range(counts["leader_id"])],
    }
    return ids


def make_page(leak: list[str] | None = None) -> str:
    """A leadership HTML like the suite's (about 0.3 MB: 3 charts, 6 tables)."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import nbformat
    import numpy as np
    import pandas as pd
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from salesnb.batch.html import notebook_to_html
    from salesnb.report import narrative

    rng = np.random.default_rng(3)
    tactics = ["outbound calls", "email sequences", "events", "paid search", "referrals",
               "partners", "webinars"]

    def shown(data: dict) -> nbformat.NotebookNode:
        return new_code_cell("x", outputs=[new_output("display_data", data=data)])

    def chart() -> nbformat.NotebookNode:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.barh(tactics, rng.gamma(4, 800, len(tactics)))
        ax.set_xlabel("loaded CAC")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        return shown({"image/png": base64.b64encode(buffer.getvalue()).decode(),
                      "text/plain": "<Figure>"})

    def table(rows: int) -> nbformat.NotebookNode:
        frame = pd.DataFrame({
            "tactic": rng.choice(tactics, rows), "region": rng.choice(["North", "South"], rows),
            "spend": rng.gamma(3, 20000, rows), "new_customers": rng.integers(0, 90, rows),
            "loaded_cac": rng.gamma(4, 900, rows), "win_rate": rng.uniform(0.1, 0.5, rows)})
        styler = narrative.formatted(frame, money_columns=("spend", "loaded_cac"),
                                     percent_columns=("win_rate",))
        return shown({"text/html": styler.to_html(), "text/plain": "styler"})

    cells = [new_markdown_cell("# CAC overview\n\n**Question.** Which tactics win customers "
                               "at the lowest cost, and how sure are we?")]
    for section in range(3):
        cells += [new_markdown_cell(f"## Section {section + 1}\n\n- Email sequences cost "
                                    "x0.85 (0.71 to 1.02) of outbound calls per customer.\n"
                                    "- No clear difference between styles."),
                  table(40), chart(), table(12)]
    if leak:
        frame = pd.DataFrame({"deal": leak[0::2], "account": leak[1::2]})
        cells.append(shown({"text/html": frame.to_html(index=False), "text/plain": "deals"}))
    cells.append(new_code_cell("x", outputs=[new_output(
        "error", ename="ValueError", evalue="too few teams", traceback=[])]))
    return notebook_to_html(new_notebook(cells=cells), "CAC overview | all data", "all data")


# --- the guard before the hardening (salesnb/batch/guards.py of 2026-12-01), unchanged -----

def baseline_checked_ids(values) -> set[str]:
    ids = set()
    for value in values:
        text = str(value).strip()
        if re.fullmatch(r"-?\d+\.0+", text):
            text = text.split(".")[0]
        if text and (re.search(r"[^\W\d_]", text) or len(text) >= 6):
            ids.add(text)
    return ids


def baseline_ids_shown(page: str, ids: set[str]) -> list[str]:
    text = re.sub(r"data:[\w.+\-]+/[\w.+\-]+;base64,[A-Za-z0-9+/=\n]+", " ", page)
    tokens = set(re.findall(r"[\w-]+", text))
    shown = ids & tokens
    for value in ids - tokens:
        if re.search(r"[^\w-]", value) and re.search(
                rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            shown.add(value)
    return sorted(shown)


def timed(func, *args):
    started = time.perf_counter()
    value = func(*args)
    return value, time.perf_counter() - started


def measure(total: int, baseline: set[str], pages: dict[str, str]) -> list[dict[str, object]]:
    from salesnb.batch import guards

    by_kind = make_ids(total)
    values = [v for kind in by_kind.values() for v in kind]
    ids, t_ids = timed(guards.checked_ids, values)
    index, t_index = timed(guards.IdIndex, ids)
    rows = []
    for name, page in pages.items():
        text, t_text = timed(guards.visible_text, page)
        found, t_scan = timed(index.shown, text)
        row: dict[str, object] = {
            "ids": total, "page": name, "page_kb": len(page.encode()) / 1024,
            "punctuated": sum(1 for v in ids if not re.fullmatch(r"[\w-]+", v)),
            "new_once_s": t_ids + t_index, "new_page_s": t_text + t_scan,
            "new_found": sorted(found)}
        if name in baseline:
            base_ids, t_base_ids = timed(baseline_checked_ids, values)
            base_found, t_base = timed(baseline_ids_shown, page, base_ids)
            row |= {"base_once_s": t_base_ids, "base_page_s": t_base, "base_found": base_found}
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, nargs="+", default=[250_000],
                        help="numbers of ids to check against (default 250000)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the old guard (about 10 minutes a page at 250,000 ids)")
    parser.add_argument("--baseline-pages", nargs="+", default=None, metavar="PAGE",
                        help="time the old guard on these pages only (clean, leak)")
    args = parser.parse_args(argv)
    sample = make_ids(1000)
    accounts = sample["customer_name"]
    leak = [sample["deal_id"][3], next(v for v in accounts if "&" in v), sample["deal_id"][8],
            sample["rep_email"][2], sample["lead_id"][1], next(v for v in accounts if "<" in v),
            sample["deal_id"][9], sample["rep_name"][4]]
    planted = make_ids(min(args.ids))
    assert all(any(v in kind for kind in planted.values()) for v in leak), "leak not in ids"
    pages = {"clean": make_page(), "leak": make_page(leak)}
    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"{platform.system()}; leaked ids planted: {len(leak)}\n")
    print("| ids | page | page KB | ids with punctuation | new: index once (s) | "
          "new: per page (s) | baseline: per page (s) | ratio | found (new / baseline) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for total in args.ids:
        baseline = set() if args.no_baseline else set(args.baseline_pages or pages)
        for row in measure(total, baseline, pages):
            base = row.get("base_page_s")
            ratio = f"{base / row['new_page_s']:.0f}x" if base else "-"  # type: ignore
            found = f"{len(row['new_found'])}"  # type: ignore[arg-type]
            if "base_found" in row:
                found += f" / {len(row['base_found'])}"  # type: ignore[arg-type]
            print(f"| {total:,} | {row['page']} | {row['page_kb']:.0f} | "
                  f"{row['punctuated']:,} | {row['new_once_s']:.2f} | {row['new_page_s']:.3f} | "
                  f"{f'{base:.1f}' if base else '-'} | {ratio} | {found} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
