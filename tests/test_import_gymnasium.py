"""``rewardcert import gymnasium`` and the rules behind it (docs/import.md).

The rules (``rewardcert.importers.tabular``) are tested on hand-made tables, so they
run without gymnasium.  The environment tests need the optional extra and are
skipped, with the reason shown, when it is absent.  Their reference is an
independent floating-point value iteration on the environment's original ``P``.
"""

from __future__ import annotations

import importlib
import math
import sys
from fractions import Fraction as F

import pytest
from rewardcert.symbolic.core.errors import BackendUnavailable, ModelError
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.guidance.floatvi import return_bounds

from rewardcert.cli import main
from rewardcert.importers.tabular import (
    from_transition_table,
    rationalise,
    simplest_rational,
)
from tests.conftest import EXAMPLES

try:                         # not `import gymnasium`: only the fenced module may import it
    gymnasium = importlib.import_module("gymnasium")
except ImportError:          # the optional extra is not installed
    gymnasium = None
needs_gymnasium = pytest.mark.skipif(
    gymnasium is None, reason="gymnasium is not installed (optional extra: pip install 'rewardcert[gymnasium]')")


# -- the rules, without gymnasium ----------------------------------------------------------

def brute_simplest(lo: F, hi: F) -> F:
    """Smallest denominator q with an integer p in [q·lo, q·hi], smallest |p| among those."""
    q = 1
    while True:
        low, high = math.ceil(lo * q), math.floor(hi * q)
        if low <= high:
            p = 0 if low <= 0 <= high else (low if low > 0 else high)
            return F(p, q)
        q += 1


@pytest.mark.parametrize("lo, hi", [(F(1, 3) - F(1, 10**6), F(1, 3) + F(1, 10**6)), (F(2, 7), F(2, 7)),
                                    (F(31, 100), F(32, 100)), (F(-5, 4), F(-6, 5)), (F(-1, 9), F(1, 7)),
                                    (F(3), F(3)), (F(22, 7) - F(1, 1000), F(22, 7) + F(1, 1000)),
                                    (F(9, 10), F(19, 20))])
def test_simplest_rational_is_the_smallest_denominator_one(lo, hi):
    assert simplest_rational(lo, hi) == brute_simplest(lo, hi)


def test_rationalise_keeps_within_the_tolerance_and_undoes_float_thirds():
    for value in (0.3333333333333333, 0.33333333333333337, 1 / 300, 0.1, 0.7, 2 / 3, 1.0, 0.0):
        q = rationalise(value)
        assert abs(q - F(value)) <= F(1, 10**12)
        assert q.denominator <= 1000
    assert rationalise(0.1 + 0.2) == F(3, 10)
    assert rationalise(math.pi) != F(math.pi) and abs(rationalise(math.pi) - F(math.pi)) <= F(1, 10**12)


def test_table_rules_merge_terminal_reward_and_action_sets():
    third = 1 / 3
    P = {0: {0: [(third, 0, 0.0, False), (third, 0, 1.0, False), (1 - 2 * third, 1, 2.0, True)],
             1: [(1.0, 1, -1, False)]},
         1: {0: [(1.0, 1, 0, False)]}}                            # state 1 has only action 0
    mdp, report = from_transition_table(P, [1.0, 0.0], F(1, 2))
    assert mdp.states == ("s0", "s1", "terminal") and mdp.enabled == ((0, 1), (0,), (0, 1))
    assert dict(mdp.successors(0)) == {0: F(2, 3), 2: F(1, 3)}      # merged; done -> terminal
    assert mdp.reward[0] == F(1, 3) * 0 + F(1, 3) * 1 + F(1, 3) * 2  # R = sum p r
    assert mdp.reward[1] == -1
    assert all(mdp.successors(x) == ((2, F(1)),) for x in (4, 5)) and mdp.reward[4:] == (0, 0)
    changed = {entry for entry, _, _ in report.changed}
    assert changed == {"P[0][0][0] probability", "P[0][0][1] probability", "P[0][0][2] probability"}
    assert report.merged == [("P[0][0]", 1)]


def test_a_row_that_does_not_sum_to_one_is_refused_by_name():
    P = {0: {0: [(0.5, 0, 0, False), (0.4, 0, 0, False)]}}
    with pytest.raises(ModelError, match=r"P\[0\]\[0\]: the rationalised probabilities sum to 9/10"):
        from_transition_table(P, [1.0], F(1, 2))
    with pytest.raises(ModelError, match=r"initial: .*sums to 1/2"):
        from_transition_table({0: {0: [(1.0, 0, 0, False)]}}, [0.5], F(1, 2))
    with pytest.raises(ModelError, match=r"P\[0\]\[0\]\[0\]: next state 3"):
        from_transition_table({0: {0: [(1.0, 3, 0, False)]}}, [1.0], F(1, 2))


def test_missing_gymnasium_is_a_clear_backend_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "gymnasium", None)     # makes `import gymnasium` fail
    from rewardcert.importers import gym_import
    with pytest.raises(BackendUnavailable, match=r"pip install 'rewardcert\[gymnasium\]'"):
        gym_import.load_gymnasium()
    assert main(["import", "gymnasium", "FrozenLake-v1", "--gamma", "9/10", "-o", str(tmp_path / "m.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rewardcert[gymnasium]" in err
    assert not (tmp_path / "m.toml").exists()


# -- real environments --------------------------------------------------------------------------

def value_iteration(env_id: str, gamma: float, options: dict) -> float:
    """J* by floating value iteration on the environment's own P (done = no future)."""
    env = gymnasium.make(env_id, **options).unwrapped
    P = env.P
    n = len(P)
    v = [0.0] * n
    for _ in range(100_000):
        new = [max(sum(p * (r + (0.0 if done else gamma * v[int(t)])) for p, t, r, done in P[s][a]) for a in P[s])
               for s in range(n)]
        delta = max(abs(a - b) for a, b in zip(new, v))
        v = new
        if delta < 1e-14:
            break
    return sum(float(p) * v[s] for s, p in enumerate(env.initial_state_distrib))


ENVIRONMENTS = [
    ("FrozenLake-v1", ["map_name=4x4"], {"map_name": "4x4"}),
    ("FrozenLake-v1", ["map_name=8x8", "is_slippery=true"], {"map_name": "8x8", "is_slippery": True}),
    ("FrozenLake-v1", ["desc=SFF,FHF,FFG", "is_slippery=false"], {"desc": ["SFF", "FHF", "FFG"], "is_slippery": False}),
    ("CliffWalking-v1", [], {}),
    ("Taxi-v4", [], {}),
]


@needs_gymnasium
@pytest.mark.parametrize("env_id, cli_options, options", ENVIRONMENTS, ids=lambda v: str(v))
def test_imported_environment_has_the_value_iteration_optimum(env_id, cli_options, options, tmp_path, capsys):
    out = tmp_path / "model.toml"
    argv = ["import", "gymnasium", env_id, "--gamma", "9/10", "-o", str(out)]
    for option in cli_options:
        argv += ["--option", option]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    mdp = load_model(out).mdp                         # the loader accepts what the importer wrote
    assert [p.name for p in tmp_path.iterdir()] == ["model.toml"]     # no temporary file left behind
    j_star = return_bounds(mdp).optimal_return
    assert abs(float(j_star) - value_iteration(env_id, 0.9, options)) < 1e-9
    assert main(["evaluate", str(out)]) == 0
    assert f"wrote {out}" in printed


@needs_gymnasium
def test_the_report_lists_every_changed_entry(tmp_path, capsys):
    """Slippery FrozenLake: every probability that is not 0 or 1 is a float third."""
    env = gymnasium.make("FrozenLake-v1", map_name="4x4").unwrapped
    expected = {f"P[{s}][{a}][{k}] probability"
                for s in env.P for a in env.P[s] for k, (p, *_) in enumerate(env.P[s][a]) if p not in (0.0, 1.0)}
    assert len(expected) > 100
    assert main(["import", "gymnasium", "FrozenLake-v1", "--option", "map_name=4x4", "--gamma", "1/2",
                 "-o", str(tmp_path / "m.toml"), "--report", str(tmp_path / "report.txt")]) == 0
    printed = capsys.readouterr().out
    listed = {line.strip().split(":")[0] for line in printed.splitlines() if line.startswith("  P[")}
    assert listed == expected
    assert all(line.endswith("-> 1/3") for line in printed.splitlines() if line.startswith("  P["))
    assert printed.splitlines()[0] == f"rationalised {len(expected)} entries (smallest denominator within 1e-12):"
    assert (tmp_path / "report.txt").read_text().splitlines()[1:len(expected) + 1] == \
        [line for line in printed.splitlines() if line.startswith("  P[")]


@needs_gymnasium
def test_environments_without_a_table_and_bad_options_are_refused(tmp_path, capsys):
    out = str(tmp_path / "m.toml")
    assert main(["import", "gymnasium", "CartPole-v1", "--gamma", "9/10", "-o", out]) == 2
    assert "no tabular transition table" in capsys.readouterr().err
    assert main(["import", "gymnasium", "NoSuchEnv-v0", "--gamma", "9/10", "-o", out]) == 2
    assert "cannot make 'NoSuchEnv-v0'" in capsys.readouterr().err
    assert main(["import", "gymnasium", "FrozenLake-v1", "--option", "colour=red", "--gamma", "9/10", "-o", out]) == 2
    assert "--option" in capsys.readouterr().err
    assert main(["import", "gymnasium", "FrozenLake-v1", "--gamma", "1", "-o", out]) == 2
    assert main(["import", "gymnasium", "FrozenLake-v1", "--initial", "r9c9", "--gamma", "1/2", "-o", out]) == 2
    assert "r9c9" in capsys.readouterr().err
    assert not (tmp_path / "m.toml").exists()


@needs_gymnasium
def test_states_are_named_after_grid_cells_and_taxi_coordinates():
    from rewardcert.importers.gym_import import import_gymnasium
    lake, _, _ = import_gymnasium("FrozenLake-v1", F(1, 2), options={"map_name": "4x4"})
    assert lake.states[:5] == ("r0c0", "r0c1", "r0c2", "r0c3", "r1c0") and lake.states[-1] == "terminal"
    assert lake.actions == ("left", "down", "right", "up")
    taxi, _, _ = import_gymnasium("Taxi-v4", F(1, 2))
    assert taxi.actions == ("south", "north", "east", "west", "pickup", "dropoff")
    assert len(set(taxi.states)) == 501 and "r0c0p0d1" in taxi.states
    assert sum(taxi.initial) == 1 and set(taxi.initial) == {F(0), F(1, 300)}    # exact mu0


@needs_gymnasium
@pytest.mark.parametrize("name, argv", [
    ("frozenlake4x4.toml", ["FrozenLake-v1", "--option", "map_name=4x4"]),
    ("cliffwalking.toml", ["CliffWalking-v1"]),
])
def test_the_examples_are_what_the_importer_writes(name, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["import", "gymnasium", *argv, "--gamma", "9/10", "-o", name, "--quiet"]) == 0
    assert (tmp_path / name).read_text(encoding="utf-8") == (EXAMPLES / name).read_text(encoding="utf-8")


def test_gymnasium_and_stormpy_are_each_imported_in_exactly_one_module():
    import re

    from tests.conftest import ROOT, project_python_files
    for library, home in (("gymnasium", "rewardcert/importers/gym_import.py"),
                          ("stormpy", "rewardcert/importers/prism_import.py")):
        pattern = re.compile(rf"^\s*(?:import\s+{library}\b|from\s+{library}\b)", re.MULTILINE)
        importers = [path.relative_to(ROOT).as_posix() for path in project_python_files()
                     if pattern.search(path.read_text(encoding="utf-8", errors="replace"))]
        assert importers == [home]


# -- issue 29, items 3-4: options read by their type; a user's mistake is exit 2, never 70 -------------

ENVIRONMENTS = ("FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4")
VALUES = ("true", "false", "True", "FALSE", "no", "yes", "0", "1", "-1", "2", "1/3", "0.5", "1e-3", "abc", "",
          "4x4", "8x8", "5x5", "SFF,FHF,FFG", "SF,FG", "S,G", '["SFFF","FHFH","FFFH","HFFG"]', "[1,2]", "[]",
          "null", "None", "1,0,0", "2,1,0", "x,y", '{"a": 1}', "nan", "inf", "-0", "0x10", " true ", "1/0")


def _fuzzed(rng, env_id):
    from rewardcert.importers.gym_import import _environment_class
    import inspect
    keys = [k for k in inspect.signature(_environment_class(env_id).__init__).parameters if k not in ("self",)]
    keys += ["foo", "map", "slippery"]
    return [(rng.choice(keys), rng.choice(VALUES)) for _ in range(rng.choice((1, 1, 2)))]


@needs_gymnasium
def test_a_thousand_fuzzed_options_never_crash_and_never_misread_a_boolean():
    import random

    from rewardcert.importers.gym_import import make_environment, typed_options
    rng = random.Random(29)
    outcomes = {"made": 0, "refused": 0}
    for trial in range(1000):
        env_id = ENVIRONMENTS[trial % len(ENVIRONMENTS)]
        pairs = _fuzzed(rng, env_id)
        try:
            options = typed_options(env_id, pairs)
            make_environment(env_id, options).close()
        except ModelError:
            outcomes["refused"] += 1
            continue
        outcomes["made"] += 1
        for key, raw in pairs:
            if key in ("is_slippery", "is_rainy", "fickle_passenger"):
                assert options[key] is (raw.strip().lower() == "true"), (env_id, pairs)
                assert raw.strip().lower() in ("true", "false"), (env_id, pairs)
    assert outcomes["made"] > 30 and outcomes["refused"] > 100, outcomes        # 53 and 947 with this seed


@needs_gymnasium
@pytest.mark.parametrize("option, fragment", [
    ("is_slippery=no", "takes true or false"),
    ("map_name=5x5", "gymnasium cannot make"),
    ("foo=1", "takes no option 'foo'"),
    ("success_rate=abc", "success_rate"),
    ("reward_schedule=a,b,c", "list of integers"),
])
def test_bad_options_exit_2_naming_the_option(option, fragment, tmp_path, capsys):
    out = tmp_path / "x.toml"
    assert main(["import", "gymnasium", "FrozenLake-v1", "--option", option, "--gamma", "9/10", "-o", str(out)]) == 2
    assert fragment in capsys.readouterr().err
    assert not out.exists()


@needs_gymnasium
def test_is_slippery_false_builds_the_deterministic_lake(tmp_path, capsys):
    out = tmp_path / "x.toml"
    assert main(["import", "gymnasium", "FrozenLake-v1", "--option", "is_slippery=false", "--gamma", "9/10",
                 "--quiet", "-o", str(out)]) == 0
    mdp = load_model(str(out)).mdp
    assert all(len(row) == 1 for row in mdp.transitions)           # every move is deterministic
    assert main(["import", "gymnasium", "FrozenLake-v1", "--option", "is_slippery=true", "--gamma", "9/10",
                 "--quiet", "-o", str(out)]) == 0
    assert any(len(row) == 3 for row in load_model(str(out)).mdp.transitions)
