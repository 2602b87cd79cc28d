"""Sweeps of certify and threshold over L, eps and lambda, in one process (issue 30)."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from rewardcert.cli import main
from rewardcert.proofs import checker
from tests.conftest import EXAMPLES

GRID = str(EXAMPLES / "gridworld4x4.toml")
FIG4 = str(EXAMPLES / "figure4.toml")
FIG4_DATA = str(EXAMPLES / "figure4-data.toml")


def run_json(argv, capsys):
    status = main([*argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_a_range_sweep_gives_the_rows_of_separate_runs(capsys):
    status, sweep = run_json(["threshold", GRID, "--data", "uniform", "--regret", "1/4:1/4:1"], capsys)
    assert status == 0 and sweep["parameters"] == ["--regret"]
    assert [row["regret_bound"] for row in sweep["rows"]] == ["1/4", "1/2", "3/4", "1"]
    for row in sweep["rows"]:
        _, alone = run_json(["threshold", GRID, "--data", "uniform", "--regret", row["regret_bound"]], capsys)
        assert row["critical_epsilon"] == alone["critical_epsilon"] == row["witness"]["error"]
    # eps*(D) cannot fall as L grows: Pi_L only shrinks
    values = [F(row["critical_epsilon"]) for row in sweep["rows"]]
    assert values == sorted(values)


def test_a_certify_sweep_over_two_options_has_every_combination(capsys):
    status, sweep = run_json(["certify", FIG4, "--data", FIG4_DATA, "--epsilon", "1/10,1/5,2/5",
                              "--regret", "4/5,1"], capsys)
    rows = sweep["rows"]
    assert len(rows) == 6 and sorted(sweep["parameters"]) == ["--epsilon", "--regret"]
    for row in rows:
        # Theorem E: safe exactly below eps*(D), computed here by the same rows' exact threshold
        expected = "safe" if F(row["epsilon"]) < F(row["critical_epsilon"]) else "unsafe"
        assert row["verdict"] == expected
    assert status == 0                   # every row decided (safe or unsafe)


def test_a_sweep_writes_one_verified_certificate_per_row(tmp_path, capsys):
    out = tmp_path / "certs"
    assert main(["threshold", FIG4, "--data", "uniform", "--regret", "1/2,4/5", "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["threshold-L1_2.json", "threshold-L4_5.json"]
    for path in out.iterdir():
        assert checker.check_file(str(path))[0] == "verified"
    assert "one per row" in capsys.readouterr().out


@pytest.mark.parametrize("value, fragment", [("1/2:0:1", "STEP > 0"), ("1:1/4:1/2", "STOP >= START"),
                                             ("1/2,1/2", "distinct"), ("1/2:1/4", "START:STEP:STOP"),
                                             ("1/4,3/2", "0 < L <= 1")])
def test_bad_sweeps_are_refused_before_any_search(value, fragment, capsys):
    try:
        status = main(["threshold", FIG4, "--data", "uniform", "--regret", value])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    assert status == 2 and fragment in captured.err
    assert captured.out == ""                  # no row ran


def test_a_lambda_sweep_uses_the_regularised_search(capsys):
    status, sweep = run_json(["threshold", FIG4, "--data", "uniform", "--regret", "4/5", "--lambda", "1/2,2",
                              "--timeout", "4"], capsys)
    assert [row["lambda"] for row in sweep["rows"]] == ["1/2", "2"]
    for row in sweep["rows"]:
        low, high = F(row["interval"]["lower"]), F(row["interval"]["upper"])
        assert 0 <= low <= high
        assert F(1, 3) <= high       # lambda > 0 approaches eps*(D) = 1/3 (uniform D) from above


def test_a_threshold_sweep_draws_its_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "sweep.png"
    assert main(["threshold", FIG4, "--data", "uniform", "--regret", "1/2,4/5,1", "--plot", str(picture)]) == 0
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
