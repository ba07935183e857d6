"""Scores add doubles (achievement points, PI points, bonuses). Floating-point addition is not associative:
0.1 + 0.2 + 0.3 is 0.6000000000000001 in one order and 0.6 in another. The rows reach an aggregate in whatever
order the plan gives, and a TIN-sharded run's plan differs from an unsharded run's: at 10M claim lines, 2 shards
gave final_scores and category_scores that differed from the unsharded run's in the last bits. Every sum or average
of a double in the scorers therefore adds in the order of the values (``sum(x ORDER BY x)``), which any row order
gives alike."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

SCORING = Path(__file__).resolve().parents[1] / "transforms" / "scoring"
# aggregates of doubles: points, bonuses, scores and rates (counts and DECIMAL sums add exactly)
DOUBLE_AGGREGATE = re.compile(r"\b(sum|avg)\((?P<arg>[^()]*(?:\([^()]*\)[^()]*)*)\)")
DOUBLE_WORDS = ("points", "bonus", "score", "performance_met /")


def test_an_ordered_sum_is_the_same_whatever_the_row_order():
    con = duckdb.connect()
    con.execute("SET threads = 1")
    results = set()
    for values in ([0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.2, 0.3, 0.1]):
        con.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?) AS x", [values])
        results.add(con.execute("SELECT sum(x ORDER BY x) FROM t").fetchone()[0])
    assert len(results) == 1
    # while a plain sum depends on the order the rows come in
    plain = set()
    for values in ([0.1, 0.2, 0.3], [0.3, 0.2, 0.1]):
        con.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?) AS x", [values])
        plain.add(con.execute("SELECT sum(x) FROM t").fetchone()[0])
    assert plain == {0.6000000000000001, 0.6}


def test_every_sum_or_average_of_points_in_the_scorers_adds_in_value_order():
    unordered = []
    for path in sorted(SCORING.glob("*.py")):
        for match in DOUBLE_AGGREGATE.finditer(path.read_text(encoding="utf-8")):
            argument = match.group("arg")
            if any(word in argument for word in DOUBLE_WORDS) and " ORDER BY " not in argument:
                unordered.append(f"{path.name}: {match.group(0)}")
    assert unordered == []
