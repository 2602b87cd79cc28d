"""``rewardcert export prism`` (pure text, always tested) and ``rewardcert import prism`` (stormpy).

The export is read back by a small independent parser written here, and the
stop-state program's optimal total reward is computed by brute force over its
policies. It must equal the engine's ``J*``.  With stormpy installed (the optional
extra), the import is checked for an exact round trip, and ``J*`` and ``J^min`` for
agreement with Storm's exact engine.  Without stormpy those tests are skipped,
with the reason shown.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
import sys
from fractions import Fraction as F

import pytest
from rewardcert.symbolic.core.errors import BackendUnavailable
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.guidance.floatvi import return_bounds

from rewardcert.cli import main
from rewardcert.importers.prism_export import to_prism
from tests import reference as ref
from tests.conftest import EXAMPLES

try:                         # not `import stormpy`: only the fenced module may import it
    stormpy = importlib.import_module("stormpy")
except ImportError:          # the optional extra is not installed
    stormpy = None
needs_stormpy = pytest.mark.skipif(
    stormpy is None, reason="stormpy is not installed (optional extra: pip install 'rewardcert[prism]')")

PURE_EXAMPLES = ["figure4.toml", "chain3.toml", "example-d14.toml", "warehouse.toml", "frozenlake4x4.toml"]


# -- an independent reader of the exported text ------------------------------------------------

COMMAND = re.compile(r"^\s*\[(\w*)\]\s*(.+?)\s*->\s*(.+);\s*$")
REWARD = re.compile(r"^\s*\[(\w*)\]\s*(.+?)\s*:\s*(.+);\s*$")


def _valuation(guard: str) -> frozenset:
    parts = [p.strip() for p in guard.split("&")]
    out = []
    for part in parts:
        if part.startswith("!"):
            out.append((part[1:], "false"))
        elif "=" in part:
            var, value = part.split("=")
            out.append((var.strip(), value.strip()))
        else:
            out.append((part, "true"))
    return frozenset(out)


def _number(text: str) -> F:
    return F(text.strip().strip("()"))


def read_prism(text: str):
    """(commands, rewards): {(valuation, label): [(prob, update valuation-delta)]}, {(valuation, label): r}."""
    commands, rewards = {}, {}
    section = None
    for line in text.splitlines():
        if line.startswith("module"):
            section = "module"
        elif line.startswith("rewards"):
            section = "rewards"
        elif line.startswith("end"):
            section = None
        elif section == "module" and COMMAND.match(line):
            label, guard, updates = COMMAND.match(line).groups()
            branches = []
            for branch in updates.split(" + "):
                prob, _, update = branch.partition(":")
                delta = frozenset(re.findall(r"\((\w+)'=(\w+)\)", update))
                branches.append((_number(prob), delta))
            commands[_valuation(guard), label] = branches
        elif section == "rewards" and REWARD.match(line):
            label, guard, value = REWARD.match(line).groups()
            rewards[_valuation(guard), label] = _number(value)
    return commands, rewards


def _state_valuation(mdp: MDP, s: int, indexed: bool) -> frozenset:
    if indexed:
        return frozenset({("s", str(s))})
    return frozenset(tuple(part.split("=")) for part in mdp.states[s].split(","))


def _apply(valuation: frozenset, delta: frozenset) -> frozenset:
    values = dict(valuation)
    values.update(dict(delta))
    return frozenset(values.items())


@pytest.mark.parametrize("name", PURE_EXAMPLES)
def test_export_states_every_enabled_command_and_reward_exactly(name):
    mdp = load_model(EXAMPLES / name).mdp
    text = to_prism(mdp)
    indexed = "// states:" in text
    commands, rewards = read_prism(text)
    m = mdp.n_actions
    expected = set()
    for s in range(mdp.n_states):
        for a in mdp.enabled_actions(s):
            x = s * m + a
            key = (_state_valuation(mdp, s, indexed), mdp.actions[a])
            expected.add(key)
            got = {}
            for p, delta in commands[key]:
                target = _apply(key[0], delta)
                got[target] = got.get(target, F(0)) + p
            assert got == {_state_valuation(mdp, t, indexed): p for t, p in mdp.successors(x)}
            assert rewards.get(key, F(0)) == mdp.reward[x]
    assert set(commands) == expected          # no command for a disabled pair


@pytest.mark.parametrize("name", ["figure4.toml", "chain3.toml", "warehouse.toml", "example-d14.toml"])
def test_the_stop_state_program_has_total_reward_j_star(name):
    """Brute force over the stop program's policies: max total reward until "stop" = J*."""
    mdp = load_model(EXAMPLES / name).mdp
    text = to_prism(mdp, stop_state=True)
    commands, rewards = read_prism(text)
    stop_label = re.search(r'label "stop" = (.+);', text).group(1)
    stop = _valuation(stop_label)
    states = sorted({v for v, _ in commands if not stop <= v}, key=sorted)
    index = {v: i for i, v in enumerate(states)}
    choices = [[(label, commands[v, label]) for (w, label) in commands if w == v] for v in states]
    indexed = "// states:" in text
    start = [(mdp.initial[s], _state_valuation(mdp, s, indexed) | (set() if indexed else {("rewardcert_stop", "false")}))
             for s in range(mdp.n_states) if mdp.initial[s]]
    best = None
    for pick in itertools.product(*[range(len(c)) for c in choices]):
        n = len(states)
        rows, rhs = [], []
        for i, v in enumerate(states):
            label, branches = choices[i][pick[i]]
            row = [F(0)] * n
            row[i] += 1
            for p, delta in branches:
                target = _apply(v, delta)
                if not stop <= target:
                    row[index[target]] -= p
            rows.append(row)
            rhs.append(rewards.get((v, label), F(0)))
        values = ref._solve(rows, rhs)
        total = sum(p * values[index[frozenset(v)]] for p, v in start)
        best = total if best is None else max(best, total)
    assert best == return_bounds(mdp).optimal_return


def test_export_command_writes_the_file(tmp_path, capsys):
    out = tmp_path / "model.nm"
    assert main(["export", "prism", str(EXAMPLES / "chain3.toml"), "-o", str(out)]) == 0
    assert out.read_text() == to_prism(load_model(EXAMPLES / "chain3.toml").mdp)
    assert main(["export", "prism", str(EXAMPLES / "chain3.toml"), "--stop-state", "-o", str(out)]) == 0
    assert 'label "stop"' in out.read_text() and "Rmax" in capsys.readouterr().out
    assert main(["export", "prism", str(tmp_path / "missing.toml"), "-o", str(out)]) == 2


def test_action_and_state_names_that_are_not_identifiers_are_mapped():
    mdp = MDP(("my state", "other"), ("go left", "init"), F(1, 2), (F(1), F(0)), (F(1), F(0), F(2), F(3)),
              (((1, F(1)),), ((0, F(1)),), ((1, F(1)),), ((0, F(1)),)))
    text = to_prism(mdp)
    assert "[act_0]" in text and "[act_1]" in text and "// states: s=0 is my state" in text
    assert "'go left'" in text


def test_missing_stormpy_is_a_clear_backend_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "stormpy", None)
    from rewardcert.importers import prism_import
    with pytest.raises(BackendUnavailable, match=r"pip install 'rewardcert\[prism\]'"):
        prism_import.load_stormpy()
    assert main(["import", "prism", str(EXAMPLES / "warehouse.nm"), "--gamma", "9/10",
                 "-o", str(tmp_path / "m.toml")]) == 2
    assert "rewardcert[prism]" in capsys.readouterr().err


# -- through stormpy ----------------------------------------------------------------------------------

@needs_stormpy
def test_warehouse_example_is_what_the_importer_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "warehouse.nm").write_text((EXAMPLES / "warehouse.nm").read_text())
    assert main(["import", "prism", "warehouse.nm", "--reward", "delivery", "--gamma", "9/10",
                 "-o", "warehouse.toml"]) == 0
    assert (tmp_path / "warehouse.toml").read_text() == (EXAMPLES / "warehouse.toml").read_text()
    mdp = load_model(tmp_path / "warehouse.toml").mdp
    assert mdp.has_disabled and {len(mdp.enabled_actions(s)) for s in range(mdp.n_states)} == {1, 2, 3}


@needs_stormpy
def test_import_export_import_gives_the_identical_model(tmp_path):
    from rewardcert.importers.prism_import import import_prism
    first, _ = import_prism(str(EXAMPLES / "warehouse.nm"), F(9, 10), reward="delivery", name="w")
    path = tmp_path / "again.nm"
    path.write_text(to_prism(first))
    second, _ = import_prism(str(path), F(9, 10), reward="reward", name="w")
    assert second == first


@needs_stormpy
@pytest.mark.parametrize("name", ["warehouse.toml", "frozenlake4x4.toml", "cliffwalking.toml", "figure4.toml",
                                  "chain3.toml", "gridworld4x4.toml", "chatbot.toml"])
def test_j_star_and_j_min_agree_with_storms_exact_engine(name):
    from rewardcert.importers.prism_import import storm_optimal_return
    mdp = load_model(EXAMPLES / name).mdp
    bounds = return_bounds(mdp)
    assert storm_optimal_return(mdp) == bounds.optimal_return
    assert storm_optimal_return(mdp, minimise=True) == bounds.pessimal_return


CONSTANTS = """\
mdp
const int N;
const double p;
const bool lazy;
module walk
  x : [0..N] init 0;
  [step] x<N -> p:(x'=x+1) + (1-p):(x'=x);
  [rest] lazy & x<N -> 1:true;
  [] x=N -> 1:true;
endmodule
rewards "r"
  x=N : 1;
  [rest] true : 1/10;
endrewards
rewards "other"
  [step] true : 1;
endrewards
"""


@needs_stormpy
def test_constants_rewards_and_unlabelled_commands(tmp_path, capsys):
    path = tmp_path / "walk.nm"
    path.write_text(CONSTANTS)
    out = str(tmp_path / "walk.toml")
    assert main(["import", "prism", str(path), "--reward", "r", "--gamma", "1/2", "-o", out]) == 2
    assert "undefined constants" in capsys.readouterr().err
    assert main(["import", "prism", str(path), "--reward", "r", "--gamma", "1/2",
                 "--constants", "N=2,p=1/3,lazy=true", "-o", out]) == 0
    mdp = load_model(out).mdp
    assert mdp.states == ("x=0", "x=1", "x=2") and mdp.actions == ("rest", "step", "tau")
    assert mdp.enabled == ((0, 1), (0, 1), (2,))
    step = mdp.pair(0, mdp.action_index("step"))
    assert dict(mdp.successors(step)) == {0: F(2, 3), 1: F(1, 3)}       # 1/3 exactly, never a float
    assert mdp.reward[mdp.pair(0, 0)] == F(1, 10) and mdp.reward[mdp.pair(2, 2)] == 1   # state + action rewards
    for argv, fragment in [
        (["--reward", "nope", "--constants", "N=2,p=1/3,lazy=true"], "no reward structure 'nope'"),
        (["--constants", "N=2,p=1/3,lazy=true"], "pass --reward NAME"),
        (["--reward", "r", "--constants", "Q=1,N=2,p=1/3,lazy=true"], "no constant 'Q'"),
        (["--reward", "r", "--constants", "N=1/2,p=1/3,lazy=true"], "integer constant"),
        (["--reward", "r", "--constants", "N=2,p=0.3x,lazy=true"], "--constants"),
    ]:
        assert main(["import", "prism", str(path), "--gamma", "1/2", *argv, "-o", out]) == 2
        err = capsys.readouterr().err
        assert fragment in err and err.count("\n") == 1, err


@needs_stormpy
def test_bad_prism_input_is_one_line_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.nm"
    broken.write_text("mdp\nmodule m\n  x : [0..1] init 0;\n  [a] x=0 -> 1:(x'=2;\nendmodule\n")
    assert main(["import", "prism", str(broken), "--gamma", "1/2", "-o", str(tmp_path / "o.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rewardcert: error: ") and "Storm cannot parse" in err and err.count("\n") == 1
    transition = tmp_path / "trew.nm"
    transition.write_text("mdp\nmodule m\n  x : [0..1] init 0;\n  [a] true -> 1:(x'=1-x);\nendmodule\n"
                          'rewards "r"\n  [a] x=0 -> x=1 : 1;\nendrewards\n')
    assert main(["import", "prism", str(transition), "--gamma", "1/2", "-o", str(tmp_path / "o.toml")]) == 2
    assert "transition rewards" in capsys.readouterr().err
    assert main(["import", "prism", str(tmp_path / "none.nm"), "--gamma", "1/2", "-o", str(tmp_path / "o.toml")]) == 2


# A JANI model written for this test: a walker on 0..2 that flips a 1/3 coin to advance,
# may rest anywhere, and may not flip at 2; the state reward (a transient variable) is 1 at 2.
COIN_JANI = """{
  "jani-version": 1,
  "name": "coin",
  "type": "mdp",
  "actions": [{"name": "flip"}, {"name": "rest"}],
  "variables": [
    {"name": "x", "type": {"kind": "bounded", "base": "int", "lower-bound": 0, "upper-bound": 2}, "initial-value": 0},
    {"name": "gain", "type": "real", "transient": true, "initial-value": 0}
  ],
  "properties": [],
  "automata": [{
    "name": "walker",
    "locations": [{"name": "l", "transient-values": [{"ref": "gain", "value": {"op": "ite", "if": {"op": "=", "left": "x", "right": 2}, "then": 1, "else": 0}}]}],
    "initial-locations": ["l"],
    "edges": [
      {"location": "l", "action": "flip", "guard": {"exp": {"op": "<", "left": "x", "right": 2}},
       "destinations": [
         {"probability": {"exp": {"op": "/", "left": 1, "right": 3}}, "location": "l",
          "assignments": [{"ref": "x", "value": {"op": "+", "left": "x", "right": 1}}]},
         {"probability": {"exp": {"op": "/", "left": 2, "right": 3}}, "location": "l"}]},
      {"location": "l", "action": "rest", "destinations": [{"probability": {"exp": 1}, "location": "l"}]}
    ]
  }],
  "system": {"elements": [{"automaton": "walker"}],
             "syncs": [{"synchronise": ["flip"], "result": "flip"}, {"synchronise": ["rest"], "result": "rest"}]}
}
"""


@needs_stormpy
def test_a_jani_model_imports_exactly_and_agrees_with_storm(tmp_path):
    from rewardcert.importers.prism_import import storm_optimal_return
    path = tmp_path / "coin.jani"
    path.write_text(COIN_JANI)
    out = tmp_path / "coin.toml"
    assert main(["import", "prism", str(path), "--gamma", "1/2", "-o", str(out)]) == 0
    mdp = load_model(out).mdp
    assert mdp.actions == ("flip", "rest") and [s.split(",")[-1] for s in mdp.states] == ["x=0", "x=1", "x=2"]
    assert mdp.enabled == ((0, 1), (0, 1), (1,))
    assert dict(mdp.successors(mdp.pair(0, 0))) == {0: F(2, 3), 1: F(1, 3)}
    assert mdp.reward == (0, 0, 0, 0, 0, 1)
    # By hand: V(2) = 1/(1 - 1/2) = 2; flipping is optimal, V(1) = (1/2)(2/3 V(1) + 1/3 V(2)), so V(1) = 1/2,
    # and V(0) = (1/2)(2/3 V(0) + 1/3 V(1)) gives V(0) = 1/8.
    assert return_bounds(mdp).optimal_return == F(1, 8) == storm_optimal_return(mdp)


@needs_stormpy
def test_frozenlake_8x8_from_gymnasium_agrees_with_storm():
    """docs/import.md's check: Gymnasium FrozenLake 8x8 through the importer, J* = Storm's exact value."""
    if importlib.util.find_spec("gymnasium") is None:
        pytest.skip("gymnasium is not installed (optional extra: pip install 'rewardcert[gymnasium]')")
    from rewardcert.importers.gym_import import import_gymnasium
    from rewardcert.importers.prism_import import storm_optimal_return
    mdp, _, _ = import_gymnasium("FrozenLake-v1", F(99, 100), options={"map_name": "8x8"})
    assert storm_optimal_return(mdp) == return_bounds(mdp).optimal_return
