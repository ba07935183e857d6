"""`mips score` end to end: CSV interface of issue 4 item 9, outputs of item 10, bad input."""
from __future__ import annotations

import duckdb
import pytest

from mips.cli import main


def write(path, text):
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    ent = write(tmp_path / "ent.csv", """
tin,npi,small_practice,rural,hpsa,non_patient_facing,hospital_based,pcmh,pi_hardship,complex_patient_bonus,prior_quality_achievement_percent,part_b_allowed_charges
123456789,,false,,,,,,,,,100000
123456789,1234567893,,,,,,,,,,50000
""")
    pi = write(tmp_path / "pi.csv", """
tin,npi,measure_id,numerator,denominator,value
123456789,,PI_PPHI_1,,,true
123456789,,PI_EP_1,49,115,
123456789,,PI_HIE_1,1123,1951,
123456789,,PI_HIE_4,923,951,
123456789,,PI_PEA_1,861,1809,
123456789,,PI_PHCDRR_1,,,true
123456789,,PI_PHCDRR_2,,,true
""")
    ia = write(tmp_path / "ia.csv", """
tin,npi,activity_id
123456789,,IA_PCMH
""")
    return tmp_path, ent, pi, ia


def read(out, table):
    return duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning=true)").df()


def test_score_only_end_to_end(files, capsys):
    tmp, ent, pi, ia = files
    out = tmp / "out"
    code = main(["score", "--performance-year", "2019", "--entities", str(ent), "--pi", str(pi), "--ia", str(ia),
                 "--scaling-factor", "1.0", "--output", str(out)])
    assert code == 0
    final = read(out, "final_scores")
    # A row with an empty npi is the group; the other the individual.
    assert sorted(final.level) == ["group", "individual"]
    g = final[final.level == "group"].iloc[0]
    # PY2019: PI 64 (CMS engine example, §2.4), IA_PCMH full credit 100, quality 0 (nothing sent), cost reweighted:
    # weights 60/0/15/25 -> 0 + 15 + 16 = 31; PT 30, AP 7 -> +7 x (31-30)/70 = 0.1 %; exceptional none (APT 75).
    assert g.pi_score == 64 and g.ia_score == 100 and g.quality_score == 0
    assert g.final_score == pytest.approx(31)
    assert g.payment_adjustment_percent == pytest.approx(0.1)
    assert g.payment_adjustment_usd == pytest.approx(100)
    assert set(read(out, "category_scores").category) == {"quality", "pi", "ia", "cost"}
    assert int(g.performance_year) == 2019
    printed = capsys.readouterr().out
    assert "123456789" in printed and "31.00" in printed


def test_quality_file_with_real_benchmarks(files):
    # PY2019 claims benchmark of 001 (inverse): deciles [100, 44.44, 29.03, 19.51, 14.71, 11.11, 8.33, 5.56, 2.78].
    # 10 met of 90 -> 11.111% <= 11.11? no (11.1111 > 11.11) -> decile 6 (<= 14.71): 6 + (14.71-11.1111)/(14.71-11.11) = 6.9997.
    tmp, ent, _, _ = files
    q = write(tmp / "q.csv", """
tin,npi,measure_id,collection_type,eligible_population,eligible_population_exclusion,eligible_population_exception,performance_met,performance_not_met
123456789,,001,claims,100,5,5,10,80
""")
    out = tmp / "out"
    assert main(["score", "--performance-year", "2019", "--entities", str(ent), "--quality", str(q), "--output", str(out)]) == 0
    m = read(out, "measure_scores").iloc[0]
    assert m.measure_id == "001" and m.decile == 6
    assert m.achievement_points == pytest.approx(6.9997, abs=1e-4)
    assert "decile 6" in m.explanation


def test_rejected_rows_are_counted_and_published(files, capsys):
    tmp, ent, _, _ = files
    ia = write(tmp / "ia_bad.csv", """
tin,npi,activity_id
123456789,,IA_EPA_1
12345,,IA_EPA_2
""")
    out = tmp / "out"
    assert main(["score", "--performance-year", "2024", "--entities", str(ent), "--ia", str(ia), "--output", str(out),
                 "--max-rejected-percent", "100"]) == 0
    assert len(read(out, "rejects")) == 1
    assert "1 rejected" in capsys.readouterr().out


def test_missing_entities_file_is_a_one_line_error(tmp_path, capsys):
    code = main(["score", "--performance-year", "2024", "--entities", str(tmp_path / "nope.csv"), "--output", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "Traceback" not in err


def test_year_without_rules_is_a_one_line_error(files, capsys):
    tmp, ent, _, _ = files
    assert main(["score", "--performance-year", "2016", "--entities", str(ent), "--output", str(tmp / "o")]) == 2
    assert "no scoring rules for performance year 2016" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--scaling-factor", "0"), ("--scaling-factor", "3.5"),
                                         ("--exceptional-scaling-factor", "1.5")])
def test_out_of_range_scaling_factors_are_refused(files, capsys, flag, value):
    # §414.1405(b)(3): 0 < SF <= 3; ESF <= 1 (§4.2).
    tmp, ent, _, _ = files
    assert main(["score", "--performance-year", "2019", "--entities", str(ent), flag, value, "--output", str(tmp / "o")]) == 2
    assert flag in capsys.readouterr().err


def test_collection_type_spellings_and_unpadded_measure_ids(files):
    # 'EHR' is CMS's electronicHealthRecord and '1' is measure 001; PY2019 eCQM 001 has a benchmark, so it is class 1.
    tmp, ent, _, _ = files
    q = write(tmp / "q.csv", """
tin,npi,measure_id,collection_type,eligible_population,performance_met,performance_not_met
123456789,,1,EHR,100,10,90
""")
    out = tmp / "out"
    assert main(["score", "--performance-year", "2019", "--entities", str(ent), "--quality", str(q), "--output", str(out)]) == 0
    m = read(out, "measure_scores").iloc[0]
    assert (m.measure_id, m.collection_type, m.measure_class) == ("001", "electronicHealthRecord", "class 1")


def test_score_runs_through_the_period_steps_with_manifest_and_checksums(files, capsys):
    # Issue 13 item 6: `mips score` runs the same steps as `mips run`: input checksums, the validated ingest,
    # the shared scorer and one atomic publish with a run manifest (parameters, inputs with sha256, rules version).
    import hashlib
    from mips.store import read_manifest

    tmp, ent, pi, ia = files
    out = tmp / "out"
    assert main(["score", "--performance-year", "2019", "--entities", str(ent), "--pi", str(pi), "--ia", str(ia),
                 "--scaling-factor", "1.0", "--output", str(out)]) == 0
    manifest = read_manifest(out, 2019)
    inputs = {i["table"]: i for i in manifest["inputs"]}
    assert set(inputs) == {"entity_input", "pi_input", "ia_input"}
    assert inputs["pi_input"]["sha256"] == hashlib.sha256(pi.read_bytes()).hexdigest()
    # 7 PI rows in, 7 accepted; the reconciliation of every file rides in the manifest as in mips run
    assert (inputs["pi_input"]["input_rows"], inputs["pi_input"]["accepted_rows"]) == (7, 7)
    assert manifest["parameters"]["mode"] == "score" and manifest["parameters"]["scaling_factor"] == 1.0
    assert manifest["parameters"]["max_rejected_percent"] == 5.0
    assert manifest["rules_version"] and "final_scores" in manifest["outputs"]
    # the work database and the period lock are gone after the run
    assert not list((out / ".work").glob("2019-*"))


def test_score_over_the_rejection_threshold_keeps_the_last_good_scores(files, capsys):
    # A rerun whose PI file is all rejected (bad TINs) fails as mips run fails and leaves the published scores alone.
    from mips.errors import RejectionThresholdExceeded

    tmp, ent, pi, ia = files
    out = tmp / "out"
    args = ["score", "--performance-year", "2019", "--entities", str(ent), "--ia", str(ia), "--output", str(out)]
    assert main(args + ["--pi", str(pi)]) == 0
    before = read(out, "final_scores").sort_values("level").final_score.tolist()
    bad = write(tmp / "bad_pi.csv", "tin,npi,measure_id,numerator,denominator,value\n12345,,PI_EP_1,1,2,\n")
    with pytest.raises(RejectionThresholdExceeded, match="100.0% rejected"):
        from mips.commands import score
        import argparse
        parser = argparse.ArgumentParser()
        score.add_arguments(parser)
        score.run(parser.parse_args(args[1:] + ["--pi", str(bad)]))
    assert read(out, "final_scores").sort_values("level").final_score.tolist() == before
