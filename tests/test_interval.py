"""Stopped searches: interval certificates (certificate-format §3.5), open leaves, Ctrl-C as a budget."""

import copy
import json
import os
import random
import signal
from fractions import Fraction as F

import pytest
from rewardcert.proofs import checker
from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.io import (
    data_from_table,
    model_from_document,
    model_to_document,
)
from rewardcert.symbolic.core.numbers import format_rational, parse_rational
from rewardcert.symbolic.search.engine import critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import interval_certificate, threshold_certificate
from rewardcert.cli import main
from rewardcert.interrupts import Interrupts
from tests.test_checker import mutations

INSTANCES = [(seed, n, L) for seed, n in ((1, 4), (2, 5), (3, 5)) for L in (F(1, 4), F(3, 4))]


def stopped(seed, n, L, nodes):
    mdp = random_mdp(500 + seed, n, 3)
    D = random_distribution(seed, mdp, zeros=0)
    return mdp, D, critical_epsilon(mdp, D, L, max_nodes=nodes)


def interval_claim_is_true(doc) -> bool:
    """Decide an interval claim with a complete exact search (the oracle for verified mutants)."""
    try:
        inst = doc["instance"]
        mdp, _ = model_from_document(inst["model"])
        D = data_from_table(mdp, inst["data"])
        L = parse_rational(inst["regret_bound"])
        star = critical_epsilon(mdp, D, L).critical_epsilon       # None is +inf
        lo = parse_rational(inst["epsilon"])
        hi = None if inst["epsilon_upper"] == "inf" else parse_rational(inst["epsilon_upper"])
        if doc["verdict"] != "interval":
            return False
        return (star is None or lo <= star) and (hi is None or (star is not None and star <= hi))
    except (RewardcertError, KeyError, TypeError, AttributeError, ValueError):
        return False


@pytest.mark.parametrize("seed,n,L", INSTANCES)
def test_interval_certificates_verify_and_bracket_the_exact_answer(seed, n, L):
    mdp, D, part = stopped(seed, n, L, 12)
    full = critical_epsilon(mdp, D, L)
    assert not part.complete and part.open_leaves
    doc = interval_certificate(mdp, D, L, part)
    status, message, facts = checker.check_document(doc)
    assert status == "verified", message
    assert facts["open_leaves"] == len(part.open_leaves)
    # The claim holds against the complete search.
    assert part.lower_bound <= full.critical_epsilon
    assert part.upper_bound is None or full.critical_epsilon <= part.upper_bound
    # ... and the lower end is the weakest open bound (or the incumbent), as documented.
    lows = [c.bound / mdp.range_reward for c in part.open_leaves]
    assert part.lower_bound == min(lows + ([part.upper_bound] if part.upper_bound is not None else []))


def test_more_budget_never_loosens_the_interval_beyond_the_truth():
    mdp, D, _ = stopped(2, 5, F(3, 4), 1)
    star = critical_epsilon(mdp, D, F(3, 4)).critical_epsilon
    for nodes in (1, 5, 20, 80):
        result = critical_epsilon(mdp, D, F(3, 4), max_nodes=nodes)
        if result.complete:
            assert result.critical_epsilon == star
            continue
        assert result.lower_bound <= star and (result.upper_bound is None or star <= result.upper_bound)


def test_claiming_more_than_the_interval_is_rejected():
    mdp, D, part = stopped(2, 5, F(1, 4), 30)
    star = critical_epsilon(mdp, D, F(1, 4)).critical_epsilon
    doc = interval_certificate(mdp, D, F(1, 4), part)
    assert part.upper_bound is not None and part.lower_bound < star <= part.upper_bound
    # A higher lower end than the weakest open dual proves.
    higher = copy.deepcopy(doc)
    higher["instance"]["epsilon"] = format_rational(star)
    assert checker.check_document(higher)[2]["rule"] in ("dual-value", "regret-dual-value")
    # A lower upper end than the witness's error.
    lower = copy.deepcopy(doc)
    lower["instance"]["epsilon_upper"] = format_rational(part.upper_bound * F(99, 100))
    assert checker.check_document(lower)[2]["rule"] in ("witness-error", "interval")
    # The same evidence read as an exact threshold: open leaves are not allowed there.
    as_threshold = copy.deepcopy(doc)
    as_threshold["verdict"] = "threshold"
    del as_threshold["instance"]["epsilon_upper"]
    as_threshold["instance"]["epsilon"] = format_rational(part.upper_bound)
    assert checker.check_document(as_threshold)[0] == "rejected"
    # An empty interval, an interval without its upper end, an upper end on another verdict.
    empty = copy.deepcopy(doc)
    empty["instance"]["epsilon"], empty["instance"]["epsilon_upper"] = "1", "1/2"
    assert checker.check_document(empty)[2]["rule"] == "interval"
    missing = copy.deepcopy(doc)
    del missing["instance"]["epsilon_upper"]
    assert checker.check_document(missing)[2]["rule"] == "interval"
    full = critical_epsilon(mdp, D, F(1, 4))
    exact = threshold_certificate(mdp, D, F(1, 4), full)
    exact["instance"]["epsilon_upper"] = "inf"
    assert checker.check_document(exact)[2]["rule"] == "interval"
    # A finite upper end with its witness removed.
    no_witness = copy.deepcopy(doc)
    del no_witness["evidence"]["witness"]
    assert checker.check_document(no_witness)[2]["rule"] == "witness-error"


def test_an_open_leaf_is_refused_outside_interval_certificates():
    mdp, D, _ = stopped(1, 4, F(3, 4), 1)
    full = critical_epsilon(mdp, D, F(3, 4))
    doc = threshold_certificate(mdp, D, F(3, 4), full)
    stack, dual = [doc["evidence"]["tree"]], None
    while stack and dual is None:
        node = stack.pop()
        if node.get("close") == "dual":
            dual = node
        stack.extend(node.get("children", {}).values())
    assert dual is not None
    dual["close"] = "open"
    assert checker.check_document(doc)[2]["rule"] == "tree-split"


@pytest.mark.parametrize("seed,n,L", INSTANCES[:3])
def test_tampering_with_interval_certificates_is_caught_or_harmless(seed, n, L):
    mdp, D, part = stopped(seed, n, L, 6)
    doc = interval_certificate(mdp, D, L, part)
    muts = list(mutations(doc))
    for description, mutated in random.Random(seed).sample(muts, min(150, len(muts))):
        status, message, facts = checker.check_document(mutated)
        assert facts.get("rule") != "internal-error", (description, message)
        if status == "verified":
            assert interval_claim_is_true(mutated), f"verified a false interval after {description}"


def test_threshold_command_writes_a_checked_interval_certificate(tmp_path, capsys):
    mdp = random_mdp(502, 5, 3)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model_to_document(mdp)))
    out = tmp_path / "cert.json"
    code = main(["threshold", str(path), "--data", "uniform", "--regret", "1/4", "--max-nodes", "10",
                 "--out", str(out), "--json"])
    assert code == 3
    printed = json.loads(capsys.readouterr().out)
    status, _, facts = checker.check_file(str(out))
    assert status == "verified" and facts["verdict"] == "interval" and facts["open_leaves"] > 0
    assert facts["interval"] == printed["critical_epsilon_interval"]


def test_ctrl_c_stops_the_search_like_a_budget():
    mdp = random_mdp(503, 5, 3)
    D = random_distribution(3, mdp)
    polls = [0]
    interrupts = Interrupts()
    with interrupts.installed(), interrupts.searching() as interrupted:
        def should_stop():
            polls[0] += 1
            if polls[0] == 8:
                os.kill(os.getpid(), signal.SIGINT)    # delivered to the handler, not as KeyboardInterrupt
            return interrupted()
        result = critical_epsilon(mdp, D, F(1, 4), should_stop=should_stop)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not result.complete
    assert checker.check_document(interval_certificate(mdp, D, F(1, 4), result))[0] == "verified"
    star = critical_epsilon(mdp, D, F(1, 4)).critical_epsilon
    assert result.lower_bound <= star and (result.upper_bound is None or star <= result.upper_bound)


def test_best_first_refinement_raises_the_lower_end_and_can_finish_the_search():
    from rewardcert.symbolic.search.engine import critical_epsilon as search
    mdp = random_mdp(8002, 6, 3)
    D = random_distribution(2, mdp, zeros=0)
    L = F(1, 4)
    star = search(mdp, D, L).critical_epsilon
    plain = search(mdp, D, L, max_nodes=10)
    refined = search(mdp, D, L, max_nodes=10, refine=True, finish_seconds=1.0)
    assert not plain.complete
    assert refined.complete or plain.lower_bound <= refined.lower_bound <= star
    if not refined.complete:
        assert checker.check_document(interval_certificate(mdp, D, L, refined))[0] == "verified"
    # Given time, the refinement (best first over the open families) closes the gap by itself.
    finished = search(mdp, D, L, max_seconds=0, refine=True, finish_seconds=120)
    assert finished.complete and finished.critical_epsilon == star
    status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, finished))
    assert status == "verified", message
