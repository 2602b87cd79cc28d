"""Every file in examples/ loads, every model evaluates through the command, and the
examples say what their comment headers claim.

Data files are named ``<model>-data[-what].toml`` and belong to ``<model>.toml``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from fractions import Fraction as F

import pytest
from rewardcert.symbolic.core.io import (
    data_from_table,
    load_data,
    load_model,
    model_from_document,
    parse_json,
)
from rewardcert.symbolic.exact.evaluation import expected_return
from rewardcert.symbolic.guidance.floatvi import return_bounds

from rewardcert.cli import main
from tests.conftest import EXAMPLES, ROOT

EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".json"))
POLICY_FILES = [p for p in EXAMPLE_FILES if '"rewardcert/policy-1"' in p.read_text()]
MANIFEST_FILES = [p for p in EXAMPLE_FILES if '"rewardcert/manifest-1"' in p.read_text()]
MODEL_FILES = [p for p in EXAMPLE_FILES if "-data" not in p.stem and p not in POLICY_FILES + MANIFEST_FILES]
DATA_FILES = [p for p in EXAMPLE_FILES if "-data" in p.stem]


def test_the_issue_examples_exist():
    names = {p.name for p in EXAMPLE_FILES}
    assert {"figure4.toml", "figure4-data.toml", "figure4-data-unsafe.toml", "example-d14.toml",
            "chatbot.toml", "chain3.toml", "gridworld4x4.toml"} <= names


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_model_loads_and_evaluates(path, capsys):
    with open(path, "rb") as handle:
        assert tomllib.load(handle)["format"] == "rewardcert/mdp-1"
    loaded = load_model(path)
    if loaded.data is not None:
        assert sum(loaded.data) == 1 and all(p >= 0 for p in loaded.data)
    assert main(["evaluate", str(path)]) == 0
    text = capsys.readouterr().out
    assert "J*" in text and "J^min" in text
    assert main(["evaluate", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    bounds = return_bounds(loaded.mdp)
    assert document["optimal_return"] == str(bounds.optimal_return)
    assert document["pessimal_return"] == str(bounds.pessimal_return)
    assert ("policies" in document) == (loaded.mdp.n_deterministic_policies <= 64)


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_file_loads_against_its_model(path):
    model = EXAMPLES / (path.stem.split("-data")[0] + ".toml")
    mdp = load_model(model).mdp
    data = load_data(path, mdp)
    assert sum(data) == 1 and all(p >= 0 for p in data)


# Figure 4's matrix M without its redundant first row (docs/theory.md §3, paper Appendix C.3.4).
FIGURE4_M = [(F("0.8"), F(0), F("0.38")), (F("1.18"), F("0.38"), F(0)), (F(0), F(0), F("1.18"))]


@pytest.mark.parametrize("name, safe", [("figure4-data.toml", True), ("figure4-data-unsafe.toml", False)])
def test_figure4_data_is_safe_or_unsafe_as_its_header_says(name, safe):
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    data = load_data(EXAMPLES / name, mdp)
    epsilon = F(1, 5)
    # Theorem 3.5: D ∈ safe(R, ε, L = 4/5)  ⇔  M D > ε · range R, row by row.
    rows = [sum(m * d for m, d in zip(row, data)) for row in FIGURE4_M]
    assert all(r > epsilon * mdp.range_reward for r in rows) == safe


def test_chatbot_is_the_appendix_b4_bandit():
    loaded = load_model(EXAMPLES / "chatbot.toml")
    mdp = loaded.mdp
    assert mdp.is_bandit and mdp.transitions is None
    assert mdp.states == ("q_safe", "q_uns")
    assert mdp.actions == ("help1", "help2", "help3", "refuse1", "refuse2", "refuse3")
    c = 10
    expected = {("q_safe", "help"): 1, ("q_safe", "refuse"): 0, ("q_uns", "help"): -c, ("q_uns", "refuse"): 0}
    for x, r in enumerate(mdp.reward):
        state, action = mdp.pair_name(x)
        assert r == expected[state, action.rstrip("123")]
    want = {("q_safe", "help"): F(2, 15), ("q_safe", "refuse"): F(1, 15),
            ("q_uns", "help"): F(1, 45), ("q_uns", "refuse"): F(1, 9)}
    assert all(loaded.data[x] == want[mdp.pair_name(x)[0], mdp.pair_name(x)[1].rstrip("123")]
               for x in range(mdp.n_pairs))


def test_chain3_prefers_the_far_end():
    mdp = load_model(EXAMPLES / "chain3.toml").mdp
    right, left = mdp.action_index("right"), mdp.action_index("left")
    bounds = return_bounds(mdp)
    assert bounds.optimal_policy == (right, right, right)
    # lingering at s0 forever earns (1/5) / (1 − 9/10) = 2, less than J*
    assert expected_return(mdp, (left, left, left)) == 2 < bounds.optimal_return


def load_generator():
    spec = importlib.util.spec_from_file_location("make_gridworld", EXAMPLES / "make_gridworld.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gridworld_file_is_what_the_generator_writes():
    generator = load_generator()
    assert (EXAMPLES / "gridworld4x4.toml").read_text(encoding="utf-8") == generator.render(4)
    assert generator.main(["--check"]) == 0


def test_gridworld_layout():
    mdp = load_model(EXAMPLES / "gridworld4x4.toml").mdp
    assert (mdp.n_states, mdp.actions, mdp.gamma) == (16, ("up", "down", "left", "right"), F(9, 10))
    assert mdp.initial[mdp.state_index("r0c0")] == 1
    rewards = {mdp.pair_name(x)[0]: r for x, r in enumerate(mdp.reward)}
    assert rewards["r3c3"] == 1 and rewards["r1c3"] == -1
    assert sorted(rewards.values()).count(0) == 14
    corner = mdp.pair(mdp.state_index("r0c0"), mdp.action_index("up"))
    assert mdp.successors(corner) == ((mdp.state_index("r0c0"), F(1)),)  # walls keep you in place
    move = mdp.pair(mdp.state_index("r0c0"), mdp.action_index("right"))
    assert dict(mdp.successors(move)) == {mdp.state_index("r0c1"): F(9, 10), mdp.state_index("r0c0"): F(1, 10)}
    bounds = return_bounds(mdp)
    assert bounds.optimal_return > 0 > bounds.pessimal_return


# -- docs/model-format.md: its examples are real ------------------------------------------------

DOC = ROOT / "docs" / "model-format.md"


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_doc_toml_examples_load():
    blocks = doc_blocks("toml")
    formats = [tomllib.loads(b).get("format") for b in blocks]
    assert formats == ["rewardcert/mdp-1", "rewardcert/data-1", None, "rewardcert/policy-1", "rewardcert/mu-1", None]
    assert tomllib.loads(blocks[5])["enabled"] == {"s3": ["north", "east"]}
    from rewardcert.symbolic.core.policyfile import mu_from_table
    bandit = load_model(EXAMPLES / "rlhf-bandit.toml").mdp
    assert mu_from_table(bandit, tomllib.loads(blocks[4])["mu"]) == (F(1, 10), F(9, 10))
    figure4 = model_from_document(tomllib.loads(blocks[0]))[0]
    assert figure4 == load_model(EXAMPLES / "figure4.toml").mdp
    assert data_from_table(figure4, tomllib.loads(blocks[1])["data"]) == \
        load_data(EXAMPLES / "figure4-data.toml", figure4)
    chain3 = load_model(EXAMPLES / "chain3.toml")
    assert data_from_table(chain3.mdp, tomllib.loads(blocks[2])["data"]) == chain3.data
    from rewardcert.symbolic.core.policyfile import policy_from_table
    assert policy_from_table(figure4, tomllib.loads(blocks[3])["policy"]) == \
        ((F(1, 2), F(1, 4), F(1, 4)),)


def test_doc_json_example_is_the_toml_example():
    toml_model = model_from_document(tomllib.loads(doc_blocks("toml")[0]))
    json_blocks = [b for b in doc_blocks("json") if "rewardcert/mdp-1" in b]
    assert json_blocks
    for block in json_blocks:
        assert model_from_document(parse_json(block)) == toml_model


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_files_load_for_their_model(path):
    from rewardcert.symbolic.core.policyfile import load_policy
    stem = path.stem.rsplit("-", 1)[0]              # chain3-policy, lemma-c37-reference, rlhf-reference
    model = load_model(EXAMPLES / (("rlhf-bandit" if stem == "rlhf" else stem) + ".toml")).mdp
    policy = load_policy(path, model)
    assert all(sum(row) == 1 for row in policy) and len(policy) == model.n_states
