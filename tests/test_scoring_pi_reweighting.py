"""PI reweighting for special statuses and clinician types by year (issue 13, build 4, EUC and hardship), through
`mips score`. Rules (data/rules/<PY>.yaml, unconfirmed [R]):
- pi.reweighted_clinician_types: PY2017-2018 NP, PA, CRNA, CNS (§414.1380(c)(2)(iii)); PY2019-2021 plus PT, OT,
  speech-language pathologists, audiologists, clinical psychologists, registered dietitians / nutrition professionals
  (CY2019 PFS final rule); PY2022 plus clinical social workers; from PY2023 NP/PA/CRNA/CNS are no longer reweighted.
- pi.reweight_flags: ASC-based clinicians from PY2018 (CY2018 QPP final rule); hospital-based, non-patient-facing and
  an approved PI hardship exception in every year.
A clinician who submits PI data is scored on it: reweighting applies only when no PI data is submitted.

Scenario (hand computation): TIN 123456789, three individuals, each attesting IA_EPA_1 (high weight, 20 of 40 points:
IA 50 %); no quality input (quality 0 keeps its weight), no cost input (cost reweighted).
- NP 1234567893 (nurse practitioner), PT 1245319599 (physical therapist), ASC 1003000126 (physician, ASC-based).
- PI reweighted: weights 85/0/15/0 (scenario cost+pi) -> final = 50 x 15 % = 7.5.
- PI not reweighted (no PI data): PY2017 60/0/15/25 (cost weight 0), PY2018 60/0/15/25 (scenario cost),
  PY2022-2023 55/0/15/30 (scenario cost) -> final 7.5 as well; the weights and the PI row's reason tell them apart.
- PY2019 (COVID-19 automatic EUC for individuals, rule euc.automatic_individual): quality and PI without data are
  reweighted for everyone, leaving IA the only weighted category -> fewer than two -> final = threshold 30; the PI
  row's reason still names the clinician type or status that reweights it first.
"""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main

TIN, NP, PT, ASC = "123456789", "1234567893", "1245319599", "1003000126"


def _score(tmp_path, year, pi_rows=""):
    ent = tmp_path / "ent.csv"
    ent.write_text("tin,npi,clinician_type,asc_based\n"
                   f"{TIN},{NP},Nurse Practitioner,\n{TIN},{PT},physical therapist,\n{TIN},{ASC},physician,true\n")
    ia = tmp_path / "ia.csv"
    ia.write_text("tin,npi,activity_id\n" + "".join(f"{TIN},{n},IA_EPA_1\n" for n in (NP, PT, ASC)))
    args = ["score", "--performance-year", str(year), "--entities", str(ent), "--ia", str(ia)]
    if pi_rows:
        pi = tmp_path / "pi.csv"
        pi.write_text("tin,npi,measure_id,numerator,denominator,value\n" + pi_rows)
        args += ["--pi", str(pi)]
    out = tmp_path / f"o{year}"
    assert main(args + ["--output", str(out)]) == 0
    read = lambda t: duckdb.sql(f"SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)").df()
    final = {r.npi: r for r in read("final_scores").itertuples()}
    pi = {r.npi: r for r in read("category_scores").query("category == 'pi'").itertuples()}
    return final, pi


# year -> (NP reweighted, PT reweighted, ASC-based reweighted, PI weight when not reweighted)
CASES = {2017: (True, False, False, 25.0), 2018: (True, False, True, 25.0), 2019: (True, True, True, 25.0),
         2022: (True, True, True, 30.0), 2023: (False, True, True, 30.0)}


@pytest.mark.parametrize("year", sorted(CASES))
def test_pi_reweighting_by_clinician_type_and_asc_status_changes_by_year(tmp_path, year):
    final, pi = _score(tmp_path, year)
    if year == 2019:
        assert "clinician type nurse practitioner" in pi[NP].reason and "clinician type physical therapist" in pi[PT].reason
        assert pi[ASC].reason.startswith("special status")
        assert all(final[n].final_score == 30.0 and final[n].ia_weight == 100.0 for n in (NP, PT, ASC))
        return
    for npi, reweighted in zip((NP, PT, ASC), CASES[year][:3]):
        assert bool(pi[npi].reweighted) is reweighted, (year, npi)
        assert final[npi].pi_weight == (0.0 if reweighted else CASES[year][3]), (year, npi)
        assert final[npi].quality_weight == (85.0 if reweighted else 100.0 - 15.0 - CASES[year][3])
        assert final[npi].final_score == pytest.approx(7.5)
    if CASES[year][0]:
        assert "clinician type nurse practitioner" in pi[NP].reason
        assert "pi.reweighted_clinician_types" in final[NP].unconfirmed_rules
    if CASES[year][2]:
        assert "pi.reweight_flags" in final[ASC].unconfirmed_rules


def test_a_reweighted_clinician_type_that_submits_pi_is_scored(tmp_path):
    # PY2022: the NP submits PI data -> PI is scored at its 30 % weight (scenario cost: 55/0/15/30), not reweighted.
    final, pi = _score(tmp_path, 2022, f"{TIN},{NP},PI_EP_1,9,10,\n")
    assert not pi[NP].reweighted and final[NP].pi_weight == 30.0
    assert pi[PT].reweighted and final[PT].pi_weight == 0.0
