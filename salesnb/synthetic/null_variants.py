"""Demo variants with no leadership effect: for checking that no finding is claimed.

Both keep the outcomes of a generated demo and make the leader labels arbitrary, so any
leadership "finding" on them is false by construction:

- :func:`shuffled_leaders` gives every leader the attributes and style history of another
  leader. The planted leader effects stay in the outcomes as leader-level noise, which is
  exactly what errors clustered by team underrate.
- :func:`few_leaders` puts the teams under a handful of new leaders with styles assigned
  at random: the shape of a public CRM (35 reps under 6 managers) on which a false
  leadership claim was once reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.synthetic.demo_files import MAPPING_YAML, write_dataset

STYLES = ("autocratic", "consultative", "collaborative")
INVOLVEMENTS = ("hands_on", "hybrid", "delegating")


def shuffled_leaders(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """A copy of demo ``tables`` whose leaders' attributes and style changes are permuted
    across leaders (teams keep their leader ids and their outcomes).
    """
    rng = np.random.default_rng(seed)
    out = {name: frame.copy() for name, frame in tables.items() if name != "truth"}
    ids = out["leaders"]["leader_id"].to_numpy()
    relabel = dict(zip(ids, rng.permutation(ids), strict=True))
    out["leaders"]["leader_id"] = out["leaders"]["leader_id"].map(relabel)
    out["leaders"] = out["leaders"].sort_values("leader_id").reset_index(drop=True)
    if "style_changes" in out:
        out["style_changes"]["leader_id"] = out["style_changes"]["leader_id"].map(relabel)
    return out


def few_leaders(tables: dict[str, pd.DataFrame], leaders: int = 6,
                seed: int = 0) -> dict[str, pd.DataFrame]:
    """A copy of demo ``tables`` with the teams under ``leaders`` new leaders whose styles
    and traits are drawn at random (no style changes).
    """
    if leaders < 2:
        raise SalesnbError("few_leaders needs at least 2 leaders")
    rng = np.random.default_rng(seed)
    out = {name: frame.copy() for name, frame in tables.items() if name != "truth"}
    names = [f"M{i:02d}" for i in range(1, leaders + 1)]
    teams = out["teams"]
    teams["leader_id"] = rng.permutation(np.resize(names, len(teams)))
    out["leaders"] = pd.DataFrame({
        "leader_id": names,
        "title": "Sales Manager",
        "decision_style": rng.permutation(np.resize(STYLES, leaders)),
        "involvement": rng.choice(INVOLVEMENTS, leaders),
        "industry_years": rng.integers(1, 26, leaders),
        "admin_share": rng.uniform(0.1, 0.5, leaders).round(2),
        "training_hours": rng.integers(10, 81, leaders),
        "recognition": rng.random(leaders) < 0.5,
    })
    out.pop("style_changes", None)
    return out


def write_variant(tables: dict[str, pd.DataFrame], out: str | Path, note: str) -> Path:
    """Write a variant like the demo (same files and mapping, less the tables it dropped);
    ``truth.json`` says ``note``.
    """
    out = Path(out)
    write_dataset(tables, {"leadership_effect": "none", "variant": note}, out)
    if "style_changes" not in tables:
        start = MAPPING_YAML.index("  style_changes:")
        end = MAPPING_YAML.index("  reps:")
        (out / "mapping.yml").write_text(MAPPING_YAML[:start] + MAPPING_YAML[end:],
                                         encoding="utf-8")
    return out
