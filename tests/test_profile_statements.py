"""benchmarks/profile_statements.py: every statement of a run timed, scripts split into their statements, and the
run's outputs the same as without the profiler."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from mips.period import find_inputs, run_period_steps
from tests.test_flow import make_inputs, table

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("profile_statements", ROOT / "benchmarks" / "profile_statements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_profile_times_each_statement_and_leaves_the_outputs_unchanged(tmp_path, capsys):
    module = _module()
    make_inputs(tmp_path / "in")  # 5 claim lines, 3 patients, PY2024
    profile = module.profile_run(tmp_path / "in", tmp_path / "profiled", 2024)
    assert set(profile.steps) == set(module.STEPS)
    by_step = {}
    for step, _, wall, cpu in profile.statements:
        assert wall >= 0 and cpu >= 0
        by_step.setdefault(step, []).append(cpu)
    # every step that reads or writes tables ran SQL, all of it inside the step's own time
    for step in ("ingest_step", "measures_step", "scores_step", "publish_step"):
        assert by_step[step], step
        assert sum(by_step[step]) <= profile.steps[step][1] + 0.05, step
    texts = [text for _, text, _, _ in profile.statements]
    # the measure engine's SQL files are scripts: each statement is timed apart, without its comments
    assert any(text.startswith("CREATE OR REPLACE TEMP TABLE m_inst AS") for text in texts)
    assert not any(text.startswith("--") for text in texts)
    # the profiler changes nothing of what the run publishes
    run_period_steps(performance_year=2024, files=find_inputs(tmp_path / "in"), output_root=tmp_path / "plain")
    for name in ("measure_results", "measure_instances", "final_scores"):
        assert table(tmp_path / "profiled", name) == table(tmp_path / "plain", name), name
    # the command prints the steps and the costliest statements
    assert module.main([str(tmp_path / "in"), "--year", "2024", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "measures_step" in out and "the 3 costliest statements" in out
    assert len(out.split("the 3 costliest statements")[1].strip().splitlines()) == 2 + 3  # "(CPU s):", header, 3 rows
