"""Helpers shared by the scoring tests: tiny hand-made reference tables and a one-call scorer."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from transforms.scoring import score_frames

TIN = "123456789"
NPI = "1234567893"


def bench(measure_id: str, bounds: list[float], *, collection_type: str = "registry", inverse: bool = False,
          topped_by_program: bool = False) -> pd.DataFrame:
    """One benchmark as decile lower bounds 1..10 (scoring's normalised shape)."""
    assert len(bounds) == 10
    return pd.DataFrame({"measure_id": measure_id, "collection_type": collection_type, "decile": range(1, 11),
                         "lower_bound": [float(b) for b in bounds], "is_inverse": inverse, "is_topped_out": topped_by_program,
                         "is_topped_out_by_program": topped_by_program, "metric_type": "singlePerformanceRate"})


def measures(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    """(measure_id, measure_type, is_high_priority) rows."""
    return pd.DataFrame([(m, t, hp, False) for m, t, hp in rows],
                        columns=["measure_id", "measure_type", "is_high_priority", "is_inverse"])


def quality_row(measure_id: str, met: int, not_met: int, *, npi=None, eligible=None, collection_type="registry",
                exclusion=0, exception=0, e2e=False) -> dict:
    eligible = met + not_met + exclusion + exception if eligible is None else eligible
    return {"tin": TIN, "npi": npi, "measure_id": measure_id, "collection_type": collection_type,
            "eligible_population": eligible, "eligible_population_exclusion": exclusion,
            "eligible_population_exception": exception, "performance_met": met, "performance_not_met": not_met,
            "stratum": None, "end_to_end_reported": e2e}


def entity(npi=None, **flags) -> dict:
    return {"tin": TIN, "npi": npi, **flags}


IA_REF = pd.DataFrame({"activity_id": ["IA_M1", "IA_M2", "IA_M3", "IA_M4", "IA_H1", "IA_H2"],
                       "weight": ["medium"] * 4 + ["high"] * 2})
EMPTY_BENCH = bench("X", [0] * 10).iloc[0:0]
EMPTY_MEASURES = pd.DataFrame(
    {"measure_id": pd.Series(dtype="object"), "measure_type": pd.Series(dtype="object"),
     "is_high_priority": pd.Series(dtype="bool"), "is_inverse": pd.Series(dtype="bool")})


def score(year: int, *, entities=None, quality=None, pi=None, ia=None, cost=None, benchmarks=None,
          quality_measures=None, ia_activities=None, **kw) -> dict[str, pd.DataFrame]:
    frame = lambda rows: pd.DataFrame(rows) if isinstance(rows, list) else rows
    return score_frames(performance_year=year, entities=frame(entities), quality=frame(quality), pi=frame(pi),
                        ia=frame(ia), cost=frame(cost),
                        benchmarks=benchmarks if benchmarks is not None else EMPTY_BENCH,
                        quality_measures=quality_measures if quality_measures is not None else EMPTY_MEASURES,
                        ia_activities=ia_activities if ia_activities is not None else IA_REF, **kw)


def one(frame: pd.DataFrame, **where) -> pd.Series:
    sel = frame
    for k, v in where.items():
        sel = sel[sel[k].isna()] if v is None else sel[sel[k] == v]
    assert len(sel) == 1, f"expected one row for {where}, got {len(sel)}"
    return sel.iloc[0]


def score_args(directory, year: int, files: dict[str, str], *, name: str = "{option}.csv") -> list[str]:
    """The `mips score --performance-year YEAR` argument list with one CSV per score option: ``files`` maps an option
    (``quality``, ``entity-submissions``, ...) to its CSV text, written to ``directory`` / ``name`` (``{option}`` and
    ``{year}`` filled in). The caller adds ``--output`` and any other option."""
    args = ["score", "--performance-year", str(year)]
    for option, text in files.items():
        path = Path(directory) / name.format(option=option, year=year)
        path.write_text(text, encoding="utf-8")
        args += [f"--{option}", str(path)]
    return args
