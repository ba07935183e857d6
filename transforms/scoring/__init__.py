"""MIPS category scorers, final score and payment adjustment.

Public entry points:
- ``load_rules(performance_year) -> Rules``: the year's rule data (data/rules/<PY>.yaml).
- ``score_entities(con, *, performance_year, ...)``: creates DuckDB tables measure_scores,
  category_scores, final_scores from the input tables (see transforms/scoring/engine.py).
- ``score_frames(performance_year=..., entities=df, quality=df, ...) -> dict[str, DataFrame]``.
- ``score_from_claims(con, *, performance_year, opt_in=False, ...)``: the whole `mips run` path.
- ``quality_input_from_measure_results(con, performance_year)`` and
  ``entities_from_claims(con, performance_year)`` for the `mips run` path.
"""
from transforms.scoring.rules import Rules, RuleValue, load_rules
from transforms.scoring.engine import score_entities, score_frames, score_from_claims
from transforms.scoring.eligibility import entities_from_claims, mips_eligibility, quality_input_from_measure_results

__all__ = ["Rules", "RuleValue", "load_rules", "score_entities", "score_frames", "score_from_claims",
           "entities_from_claims", "mips_eligibility", "quality_input_from_measure_results"]
