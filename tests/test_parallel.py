"""``--jobs``: subtrees on a pool of processes give the serial answer and one valid certificate."""

import concurrent.futures as futures
import json
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.families import fixed_branch_order
from rewardcert.symbolic.search.parallel import (
    parallel_critical_epsilon,
    prefixes,
    split_depth,
)

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import (
    interval_certificate,
    safety_certificate,
    threshold_certificate,
)
from rewardcert.cli import main
from tests.strategies import distributions, mdps
from tests.test_checker import claim_is_true
from tests.test_seed import brute_force


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_subtrees_of_one_split_depth_together_give_the_brute_force_answer(data):
    # In-process (a thread pool): the merge alone, against brute force over every policy.
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    depth = data.draw(st.integers(0, mdp.n_states))
    star, _ = brute_force(mdp, D, L)
    with futures.ThreadPoolExecutor(2) as pool:
        result = parallel_critical_epsilon(mdp, D, L, executor=pool, jobs=2, depth=depth)
    assert result.complete and result.critical_epsilon == star
    if not result.bounds.degenerate:
        document = threshold_certificate(mdp, D, L, result)
        status, message, _ = checker.check_document(document)
        assert status == "verified", message
        assert claim_is_true(document)


@pytest.mark.parametrize("seed, states, L", [(8002, 7, F(1, 4)), (9000, 8, F(1, 2)), (7100, 7, F(3, 4))])
def test_a_process_pool_gives_the_serial_answer_and_a_certificate_the_checker_accepts(seed, states, L):
    mdp = random_mdp(seed, states, 4)
    D = random_distribution(1, mdp, zeros=0)
    serial = critical_epsilon(mdp, D, L)
    pooled = parallel_critical_epsilon(mdp, D, L, jobs=2)
    assert pooled.complete and pooled.critical_epsilon == serial.critical_epsilon
    assert pooled.witness.error == serial.critical_epsilon
    document = threshold_certificate(mdp, D, L, pooled)
    assert checker.check_document(document)[0] == "verified"


def test_prefixes_partition_the_policies_along_the_branch_order():
    mdp = random_mdp(8002, 5, 3)
    order = fixed_branch_order(mdp, return_bounds(mdp))
    depth = split_depth(mdp.allowed_actions(), order, 2)
    roots = prefixes(mdp.allowed_actions(), order, depth)
    assert 3 ** depth == len(roots) >= 16 > 3 ** (depth - 1)
    assert len(set(roots)) == len(roots)
    for root in roots:
        assert [s for s, a in enumerate(root) if a is not None] == sorted(order[:depth])


def test_a_seed_and_decide_epsilon_work_as_in_one_search():
    mdp = random_mdp(8002, 7, 4)
    D = random_distribution(2, mdp, zeros=0)
    L = F(1, 4)
    star = critical_epsilon(mdp, D, L).critical_epsilon
    for epsilon, verdict in ((star / 2, Verdict.SAFE), (star, Verdict.UNSAFE), (star * 2, Verdict.UNSAFE)):
        result = parallel_critical_epsilon(mdp, D, L, jobs=2, decide_epsilon=epsilon)
        assert result.verdict(epsilon) is verdict
        document = safety_certificate(mdp, D, epsilon, L, result)
        assert checker.check_document(document)[0] == "verified"
    witness = critical_epsilon(mdp, D, L).witness.policy
    seeded = parallel_critical_epsilon(mdp, D, L, jobs=2, seed_policies=[witness])
    assert seeded.critical_epsilon == star


def test_a_stopped_pool_reports_a_certified_interval_around_the_answer():
    mdp = random_mdp(10000, 10, 4)
    D = random_distribution(1, mdp, zeros=0)
    L = F(1, 2)
    result = parallel_critical_epsilon(mdp, D, L, jobs=2, subtree_max_nodes=20)
    assert not result.complete
    star = F(2021149158310651, 164036082213084400)   # critical_epsilon, no budget (2.8 s serial, 1.5 s pooled)
    assert 0 < result.lower_bound <= star and (result.upper_bound is None or star <= result.upper_bound)
    document = interval_certificate(mdp, D, L, result)
    status, message, _ = checker.check_document(document)
    assert status == "verified", message


def test_a_deadline_stops_the_pool_with_a_certified_interval_on_any_machine():
    # Time-based, so it asserts only what holds however fast the machine is: finished or not,
    # the interval holds the answer and its certificate verifies.
    mdp = random_mdp(10000, 10, 4)
    D = random_distribution(1, mdp, zeros=0)
    L = F(1, 2)
    result = parallel_critical_epsilon(mdp, D, L, jobs=2, max_seconds=0.3)
    star = F(2021149158310651, 164036082213084400)
    if result.complete:
        assert result.critical_epsilon == star
    else:
        assert 0 < result.lower_bound <= star and (result.upper_bound is None or star <= result.upper_bound)
    document = interval_certificate(mdp, D, L, result) if not result.complete else None
    if document is not None:
        assert checker.check_document(document)[0] == "verified"


def test_the_cli_takes_jobs_and_refuses_what_it_cannot_run(capsys, tmp_path):
    out = tmp_path / "cert.json"
    assert main(["threshold", "examples/gridworld4x4.toml", "--data", "uniform", "--regret", "1", "--jobs", "2",
                 "--json", "-o", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    mdp = load_model("examples/gridworld4x4.toml").mdp
    serial = critical_epsilon(mdp, uniform_distribution(mdp), F(1))
    assert serial.critical_epsilon == F(7421, 529984)       # 4^16 policies; finishes in a few seconds at L = 1
    assert report["critical_epsilon"] == "7421/529984"
    assert checker.check_document(json.loads(out.read_text()))[0] == "verified"
    for bad in (["--jobs", "0"], ["--jobs", "2", "--max-nodes", "10"], ["--jobs", "2", "--lambda", "1"]):
        assert main(["threshold", "examples/figure4.toml", "--regret", "4/5"] + bad) == 2
        assert "--jobs" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_subtrees_respect_per_state_action_sets(data):
    from tests.strategies import enabled_distributions, enabled_mdps
    mdp = data.draw(enabled_mdps(max_states=3, max_actions=3))
    D = data.draw(enabled_distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    star, _ = brute_force(mdp, D, L)
    with futures.ThreadPoolExecutor(2) as pool:
        result = parallel_critical_epsilon(mdp, D, L, executor=pool, jobs=2, depth=data.draw(st.integers(0, 3)))
    assert result.complete and result.critical_epsilon == star
    if not result.bounds.degenerate:
        status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
        assert status == "verified", message
