"""The per-year rule files (data/rules/<PY>.yaml): complete, tagged, loadable; bad files rejected."""
from __future__ import annotations

import re

import pytest
import yaml

from mips.errors import PipelineError
from transforms.scoring.rules import load_rules, rules_from_mapping

YEARS = range(2017, 2027)
TAG = re.compile(r"\[(V|D|S|R|\?)\]")


@pytest.mark.parametrize("year", YEARS)
def test_every_value_carries_a_source_tag_and_the_right_unconfirmed_flag(year):
    # Issue 4 item 1: each value carries its source tag; [R]/[?]/[S] values are flagged unconfirmed.
    rules = load_rules(year)
    assert rules.performance_year == year
    for leaf in rules.leaves.values():
        tags = set(TAG.findall(leaf.source))
        assert tags, f"{leaf.path} has no source tag"
        assert leaf.unconfirmed == bool(tags & {"R", "?", "S"}), leaf.path


@pytest.mark.parametrize("year", YEARS)
def test_weights_and_every_redistribution_scenario_sum_to_100(year):
    rules = load_rules(year)
    assert sum(rules["final.weights"].values()) == 100
    for key, leaf in rules.under("final.redistribution").items():
        assert sum(leaf.value.values()) == 100, key


def test_master_table_values():
    # spec §1 master table: PT, applicable percent, DC threshold and payment year by PY.
    expected = {2017: (3, 4, 50), 2018: (15, 5, 60), 2019: (30, 7, 60), 2020: (45, 9, 70), 2021: (60, 9, 70),
                2022: (75, 9, 70), 2023: (75, 9, 70), 2024: (75, 9, 75), 2025: (75, 9, 75), 2026: (75, 9, 75)}
    for year, (pt, ap, dc) in expected.items():
        r = load_rules(year)
        assert (r["payment.performance_threshold"], r["payment.applicable_percent"],
                r["quality.data_completeness_percent"]) == (pt, ap, dc)
        assert r["payment.payment_year"] == year + 2
        # exceptional performance only PY2017-2022 (§1)
        assert (r["payment.additional_performance_threshold"] is not None) == (year <= 2022)


def test_unknown_year_is_a_one_line_error():
    with pytest.raises(PipelineError, match="no scoring rules for performance year 2016"):
        load_rules(2016)


def test_a_leaf_without_source_is_rejected():
    doc = {"performance_year": 2030, "payment": {"performance_threshold": {"value": 75}}}
    with pytest.raises(ValueError, match="payment.performance_threshold"):
        rules_from_mapping(doc)


def test_a_correction_is_a_data_change(tmp_path):
    # Changing a YAML value changes the rule without code: a copy of PY2024 with PT 80.
    doc = yaml.safe_load(open(load_rules(2024).path, encoding="utf-8"))
    doc["payment"]["performance_threshold"]["value"] = 80
    (tmp_path / "2024.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert load_rules(2024, tmp_path)["payment.performance_threshold"] == 80
