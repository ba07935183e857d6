"""Extreme and uncontrollable circumstances (EUC) and hardship (issue 13, build 4), through `mips score`.
Rules (data/rules/<PY>.yaml, section euc, all unconfirmed):
- euc.automatic_individual: PY2017-2018 individuals in a CMS-designated disaster area (input in_disaster_area: CMS's
  county lists are not bundled) [R]; PY2019-2021 every individual clinician (COVID-19) [S]; none from PY2022.
  Every category without data is reweighted (cost always); a category with data is scored; fewer than two weighted
  categories -> final score = performance threshold (neutral adjustment), §414.1380(c)(2).
- euc.application_categories: an approved application reweights quality, cost or IA from PY2018 [R] (PY2017: none;
  PI has its own hardship application, pi_hardship).
- euc.submission_voids_reweighting: from PY2019 data submitted in the category voids the reweighting [R].

Hand computation. Entities:
- Individual 123456789/1234567893 submits nothing, in_disaster_area = true.
- Group 555555555 with an approved IA application (euc_ia) that still attests IA_EPA_1 (high, 20 of 40 points: 50 %).
  No quality (0 at its weight), no PI (0 at its weight), no cost (reweighted).
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main
from transforms.scoring.rules import load_rules

TIN, NPI, GROUP = "123456789", "1234567893", "555555555"


def _score(tmp_path, year):
    ent = tmp_path / "ent.csv"
    ent.write_text(f"tin,npi,in_disaster_area,euc_ia\n{TIN},{NPI},true,\n{GROUP},,,true\n")
    ia = tmp_path / "ia.csv"
    ia.write_text(f"tin,npi,activity_id\n{GROUP},,IA_EPA_1\n")
    out = tmp_path / f"o{year}"
    assert main(["score", "--performance-year", str(year), "--entities", str(ent), "--ia", str(ia),
                 "--output", str(out)]) == 0
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    final = {r.tin: r for r in read("final_scores").itertuples()}
    cats = {(r.tin, r.category): r for r in read("category_scores").itertuples()}
    return final, cats


@pytest.mark.parametrize("year, threshold", [(2017, 3.0), (2018, 15.0), (2019, 30.0), (2020, 45.0), (2021, 60.0)])
def test_automatic_euc_gives_an_individual_without_data_the_threshold(tmp_path, year, threshold):
    # All four categories reweighted (no data) -> no weighted category -> final = performance threshold, adjustment 0.
    final, cats = _score(tmp_path, year)
    ind = final[TIN]
    assert ind.final_score == threshold and ind.payment_adjustment_low_percent == 0
    assert all(cats[(TIN, c)].reweighted for c in ("quality", "cost", "ia", "pi"))
    reason = "designated disaster area" if year <= 2018 else "COVID-19"
    assert reason in cats[(TIN, "quality")].reason
    # The output names the rule as unconfirmed exactly while its source is: PY2021's was read on
    # qpp.cms.gov/resources/covid19?py=2021 (CMS: automatic EUC for all individuals), the other years' not yet.
    named = "euc.automatic_individual" in ind.unconfirmed_rules
    assert named == load_rules(year).leaf("euc.automatic_individual").unconfirmed
    assert named == (year != 2021)


def test_no_automatic_euc_from_py2022_an_individual_without_data_scores_0(tmp_path):
    # PY2022: quality 0 and IA 0 keep their weights, PI 0 keeps its weight -> final 0, the maximum negative -9 %.
    final, cats = _score(tmp_path, 2022)
    assert final[TIN].final_score == 0 and final[TIN].payment_adjustment_percent == -9.0
    assert not cats[(TIN, "quality")].reweighted


def test_an_ia_application_is_not_honoured_in_py2017(tmp_path):
    # PY2017 had no EUC application for IA: the group's IA is scored, 50 % x 15 % = 7.5 (weights 60/0/15/25).
    final, cats = _score(tmp_path, 2017)
    assert not cats[(GROUP, "ia")].reweighted and final[GROUP].final_score == pytest.approx(7.5)


def test_an_ia_application_reweights_ia_in_py2018_even_with_data(tmp_path):
    # PY2018: IA reweighted although attested (no voiding before PY2019). Cost and IA reweighted: no listed scenario,
    # so the proportional fallback (rule final.redistribution_fallback, unconfirmed): quality 50/75 = 66.67 %,
    # PI 25/75 = 33.33 %; both 0 -> final 0.
    final, cats = _score(tmp_path, 2018)
    g = final[GROUP]
    assert cats[(GROUP, "ia")].reweighted and "application" in cats[(GROUP, "ia")].reason
    assert g.ia_weight == 0 and g.quality_weight == pytest.approx(200 / 3) and g.pi_weight == pytest.approx(100 / 3)
    assert g.final_score == 0 and "final.redistribution_fallback" in g.unconfirmed_rules


def test_submitted_data_voids_the_application_from_py2019(tmp_path):
    # PY2019: the group attested IA, so its IA application is void: IA 50 % scored at 15 % (scenario cost 60/0/15/25)
    # -> final 7.5.
    final, cats = _score(tmp_path, 2019)
    assert not cats[(GROUP, "ia")].reweighted and final[GROUP].ia_weight == 15.0
    assert final[GROUP].final_score == pytest.approx(7.5)
