"""--timeout on `matrix` and `safest` (issue 9): a budget that runs out reports what is known, exit 3,
and never a claim it has not proved."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.paper.safest import safest_distribution

from rewardcert.cli import main

from .conftest import EXAMPLES


def test_matrix_timeout_reports_an_incomplete_m(capsys):
    code = main(["matrix", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--timeout", "0.000001", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["complete"] is False and "incomplete" in doc["message"]
    # With time enough, the same command builds M.
    assert main(["matrix", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--timeout", "120"]) == 0


def test_safest_timeout_brackets_eps_star_star(capsys):
    chatbot = load_model(EXAMPLES / "chatbot.toml").mdp
    exact = safest_distribution(chatbot, F(1, 2)).max_critical_epsilon      # 5/22 (README)
    stopped = safest_distribution(chatbot, F(1, 2), max_seconds=0.0)
    assert not stopped.complete and 0 <= stopped.lower <= exact
    assert stopped.upper is None or exact <= stopped.upper
    # A budget that allows some cutting planes but not all still brackets the exact value.
    for budget in (0.05, 0.2):
        partial = safest_distribution(chatbot, F(1, 2), max_seconds=budget)
        if partial.complete:
            assert partial.max_critical_epsilon == exact
        else:
            assert partial.lower <= exact and (partial.upper is None or exact <= partial.upper)
    code = main(["safest", str(EXAMPLES / "chatbot.toml"), "--regret", "1/2", "--timeout", "0.000001"])
    out = capsys.readouterr().out
    assert code == 3 and "eps** in [" in out and "raise --timeout" in out


def test_a_safest_run_stopped_in_its_first_search_still_brackets_eps_star_star():
    # Regression (found by a differential audit against z3): when the budget stopped the first
    # search, at the uniform D, the bracket's upper end was that search's, an upper bound on
    # eps*(uniform) only; here it was 7/171 against eps** = 9693908/93032987 (z3's exact LP over
    # every policy of regret >= L, and this toolkit's own complete run, agree on that value).
    mdp = load_model(Path(__file__).parent / "data" / "safest-bracket-4x3.toml").mdp
    exact = F(9693908, 93032987)
    assert safest_distribution(mdp, F(1, 2)).max_critical_epsilon == exact
    seen_first_search = False
    for polls in (1, 2, 3, 5, 8, 13, 20, 40, 80):
        calls = [0]

        def stop(calls=calls, polls=polls):
            calls[0] += 1
            return calls[0] > polls
        stopped = safest_distribution(mdp, F(1, 2), stop=stop)
        if stopped.complete:
            assert stopped.max_critical_epsilon == exact
            continue
        seen_first_search |= stopped.iterations == 0
        assert stopped.lower <= exact <= stopped.upper <= F(1, 2), (polls, stopped.lower, stopped.upper)
    assert seen_first_search, "some budget should stop the first search"


def test_a_certificate_too_large_for_the_checker_falls_back_to_the_root_family(tmp_path, capsys, monkeypatch):
    # Regression: an 8x8 lake's 600 s interval certificate would have had 384 MB; the command
    # exited 2 without printing the interval it had found.  Now threshold writes the root
    # family's certificate (weaker, still verified) and says so; certify reports, then exits 2.
    import json as _json

    from rewardcert.proofs import checker

    from rewardcert.certificates import common as certificates
    from rewardcert.cli import main
    monkeypatch.setattr(certificates, "CHECKER_MAX_BYTES", 60_000)
    out = tmp_path / "cert.json"
    status = main(["threshold", "examples/gridworld4x4.toml", "--data", "uniform", "--regret", "1/2",
                   "--max-nodes", "400", "--no-milp-seed", "--json", "-o", str(out)])
    report = _json.loads(capsys.readouterr().out)
    assert status == 3 and report["certificate"] == str(out)
    assert "covers the root family only" in report["certificate_note"]
    document = _json.loads(out.read_text())
    assert checker.check_document(document)[0] == "verified"
    lower, upper = F(document["instance"]["epsilon"]), F(report["critical_epsilon_interval"][1])
    assert 0 < lower <= upper       # the root's regret-aware bound, positive for a positive D
    assert document["instance"]["epsilon_upper"] == report["critical_epsilon_interval"][1]
    monkeypatch.setattr(certificates, "CHECKER_MAX_BYTES", 300)
    status = main(["certify", "examples/figure4.toml", "--data", "examples/figure4-data.toml", "--regret", "4/5",
                   "--epsilon", "1/10", "-o", str(tmp_path / "c.json")])
    printed = capsys.readouterr()
    assert status == 2 and "verdict:" in printed.out and "no certificate was written" in printed.out
    assert not (tmp_path / "c.json").exists()


def test_the_closures_memory_budget_stops_the_search_with_a_certified_interval(capsys, monkeypatch, tmp_path):
    import json as _json

    from rewardcert.proofs import checker
    from rewardcert.symbolic.core.io import data_to_document, model_to_document
    from rewardcert.symbolic.search.engine import critical_epsilon

    from benchmarks.common import random_distribution, random_mdp
    from rewardcert.certificates import interval_certificate
    from rewardcert.cli import main
    mdp = random_mdp(10000, 10, 4)
    D = random_distribution(1, mdp, zeros=0)
    star = F(2021149158310651, 164036082213084400)      # the finished search's answer (test_parallel)
    result = critical_epsilon(mdp, D, F(1, 2), max_closure_bytes=200_000)
    assert not result.complete and result.stop_reason == "memory"
    assert 200_000 < result.closure_bytes < 400_000
    assert 0 < result.lower_bound <= star <= result.upper_bound
    assert checker.check_document(interval_certificate(mdp, D, F(1, 2), result))[0] == "verified"
    # The command names the budget that ran out.
    monkeypatch.setitem(critical_epsilon.__kwdefaults__, "max_closure_bytes", 200_000)
    model, data = tmp_path / "m.json", tmp_path / "d.json"
    model.write_text(_json.dumps(model_to_document(mdp)))
    data.write_text(_json.dumps(data_to_document(mdp, D)))
    assert main(["threshold", str(model), "--data", str(data), "--regret", "1/2", "--no-milp-seed"]) == 3
    assert "memory budget" in capsys.readouterr().out


def test_large_certificates_are_compact_and_small_ones_indented(tmp_path, monkeypatch):
    # Indentation tripled deep search trees (the 4x4 lake's L = 1/2 certificate: 108 MB against 35 MB).
    import json as _json

    from rewardcert.proofs import checker

    from rewardcert.certificates import common as certificates
    from rewardcert.cli import main
    out = tmp_path / "small.json"
    assert main(["threshold", "examples/figure4.toml", "--data", "examples/figure4-data.toml", "--regret", "4/5",
                 "-o", str(out)]) == 0
    small = out.read_text()
    assert small.startswith("{\n \"format\"")
    monkeypatch.setattr(certificates, "INDENT_UP_TO", 100)
    out = tmp_path / "large.json"
    assert main(["threshold", "examples/figure4.toml", "--data", "examples/figure4-data.toml", "--regret", "4/5",
                 "-o", str(out)]) == 0
    large = out.read_text()
    assert "\n" not in large[:-1] and len(large) < len(small)
    assert _json.loads(large) == _json.loads(small)
    assert checker.check_document(_json.loads(large))[0] == "verified"
    assert checker.main([str(out)]) == 0


# -- --timeout covers the certificate too (issue 9) ----------------------------------------------

def test_the_search_leaves_a_share_of_the_timeout_to_the_certificate():
    import argparse
    import time

    from rewardcert.engine import CERTIFICATE_SHARE, command_deadline, search_budget
    now = time.monotonic()
    with_out = argparse.Namespace(timeout=10.0, out="cert.json", started=now)
    without = argparse.Namespace(timeout=10.0, out=None, started=now)
    assert abs(search_budget(with_out) - 10.0 * (1 - CERTIFICATE_SHARE)) < 0.5
    assert abs(search_budget(without) - 10.0) < 0.5
    assert abs(command_deadline(with_out) - (now + 10.0)) < 1e-9
    late = argparse.Namespace(timeout=1.0, out=None, started=now - 5)
    assert search_budget(late) == 0.0
    assert search_budget(argparse.Namespace(timeout=None, out="x", started=now)) is None


def _figure4_certificate():
    from rewardcert.symbolic.search.engine import critical_epsilon

    from rewardcert.certificates import safety_certificate
    loaded = load_model(EXAMPLES / "figure4.toml")
    from rewardcert.symbolic.core.io import load_data
    data = load_data(EXAMPLES / "figure4-data.toml", loaded.mdp)
    result = critical_epsilon(loaded.mdp, data, F(4, 5))
    return safety_certificate(loaded.mdp, data, F(1, 5), F(4, 5), result)


def test_the_timed_replay_runs_the_standalone_checker_and_refuses_a_false_certificate(tmp_path):
    import time

    from rewardcert.proofs import checker

    from rewardcert.certificates.replay import write_checked as _write_checked
    document = _figure4_certificate()
    good = tmp_path / "good.json"
    assert _write_checked(str(good), document, deadline=time.monotonic() + 120) is True
    assert checker.check_file(str(good))[0] == "verified"
    # The claim "safe at eps" for an eps far above eps*(D) is false: the child checker rejects it,
    # and nothing is written.
    forged = json.loads(json.dumps(document))
    forged["instance"]["epsilon"] = "9/10"
    assert checker.check_document(json.loads(json.dumps(forged)))[0] == "rejected"
    bad = tmp_path / "bad.json"
    import pytest
    with pytest.raises(RuntimeError, match="rejected"):
        _write_checked(str(bad), forged, deadline=time.monotonic() + 120)
    assert not bad.exists()
    with pytest.raises(RuntimeError, match="rejected"):     # and the untimed replay, in this process
        _write_checked(str(bad), forged)
    assert not bad.exists()


def test_a_replay_cut_short_by_the_timeout_writes_the_certificate_and_says_it_was_not_replayed(
        tmp_path, capsys, monkeypatch):
    import time

    from rewardcert.proofs import checker

    from rewardcert import engine
    from rewardcert.certificates import replay
    monkeypatch.setattr(replay, "MIN_REPLAY_SECONDS", 0.0)
    monkeypatch.setattr(engine, "command_deadline", lambda args: time.monotonic() - 1.0)
    out = tmp_path / "cert.json"
    status = main(["certify", str(EXAMPLES / "figure4.toml"), "--data", str(EXAMPLES / "figure4-data.toml"),
                   "--epsilon", "1/5", "--regret", "4/5", "--timeout", "60", "--json", "-o", str(out)])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["verdict"] == "safe"
    assert report["certificate_replayed"] is False and f"rewardcert check {out}" in report["certificate_note"]
    assert checker.check_file(str(out))[0] == "verified"       # written whole, and true
    status = main(["certify", str(EXAMPLES / "figure4.toml"), "--data", str(EXAMPLES / "figure4-data.toml"),
                   "--epsilon", "1/5", "--regret", "4/5", "--timeout", "60", "-o", str(out)])
    text = capsys.readouterr().out
    assert "not replayed" in text and "verified by proofs/checker.py" not in text


def test_open_families_past_the_finishing_budget_keep_the_roots_regret_aware_bound(tmp_path):
    # With no finishing budget at all, an open family gets the search root's regret-aware closure
    # (its members are the root's) instead of its plain bound, which is often <= 0.  The interval
    # must still contain brute force's eps*(D), and its certificate must verify.
    from rewardcert.proofs import checker
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.search.engine import critical_epsilon

    from benchmarks.common import random_mdp
    from rewardcert.certificates import interval_certificate

    from . import reference
    for seed in (0, 2, 3, 4, 5):
        mdp = random_mdp(seed, 3, 3)
        data = uniform_distribution(mdp)
        exact = reference.critical_epsilon(mdp, data, F(1, 2))[0]
        stopped = critical_epsilon(mdp, data, F(1, 2), max_nodes=2, finish_seconds=0, regret_aware=False)
        assert not stopped.complete and stopped.open_leaves
        assert any(leaf.kind == "regret-dual" for leaf in stopped.open_leaves)
        assert 0 < stopped.lower_bound <= exact
        assert stopped.upper_bound is None or exact <= stopped.upper_bound
        document = interval_certificate(mdp, data, F(1, 2), stopped)
        assert checker.check_document(json.loads(json.dumps(document)))[0] == "verified"


def test_the_timed_replay_falls_back_to_the_checker_in_process_when_no_interpreter_starts(tmp_path, monkeypatch):
    import subprocess
    import time

    from rewardcert.proofs import checker

    from rewardcert.certificates.replay import write_checked as _write_checked

    def no_interpreter(*args, **kwargs):
        raise FileNotFoundError("no python here")
    monkeypatch.setattr(subprocess, "run", no_interpreter)
    out = tmp_path / "cert.json"
    assert _write_checked(str(out), _figure4_certificate(), deadline=time.monotonic() + 60) is True
    assert checker.check_file(str(out))[0] == "verified"


def test_the_milp_seed_takes_a_quarter_of_the_search_budget_and_none_of_a_tiny_one(monkeypatch):
    # A sub-second --timeout used to give the MILP a 1 s floor, so the command overran by more
    # than the whole budget; now the seed gets a quarter of the search's share, or is skipped.
    import argparse
    import time

    from rewardcert.symbolic.core.io import LoadedModel
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.guidance.floatvi import return_bounds

    from benchmarks.environments import frozen_lake
    from rewardcert import engine, lp
    calls = []

    class Seed:
        policy = None
    monkeypatch.setattr(lp, "solve_milp", lambda *a, time_limit, **k: calls.append(time_limit) or Seed())
    mdp = frozen_lake(4, 0)
    D, bounds = uniform_distribution(mdp), return_bounds(mdp)
    loaded = LoadedModel(mdp, None, "lake")

    def seed(timeout, out=None):
        args = argparse.Namespace(no_milp_seed=False, timeout=timeout, out=out, regret=F(1, 2),
                                  started=time.monotonic())
        engine.milp_seed(args, engine.Instance(loaded, D), bounds)
    seed(None)
    seed(1.0)                                 # a quarter of 1 s is below MILP_SEED_MIN_SECONDS
    seed(4.0, out="c.json")                   # the search's 60 % of 4 s, a quarter of it: 0.6 s
    seed(100.0)
    assert calls[0] == engine.MILP_SEED_SECONDS and len(calls) == 3
    assert 0.5 <= calls[1] <= 0.6 and calls[2] == engine.MILP_SEED_SECONDS
