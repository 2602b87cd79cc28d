"""``SearchOptions`` and ``BranchAndBound`` (docs/engine.md, "The code"): the knobs as one object give the
same search as the keywords of ``critical_epsilon``, whose keywords and errors stay as they were."""

from __future__ import annotations

import dataclasses
import inspect
from fractions import Fraction as F

import pytest
from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.search.engine import BranchAndBound, critical_epsilon
from rewardcert.symbolic.search.options import MAX_CLOSURE_BYTES, SearchOptions

from benchmarks.common import random_distribution, random_mdp


def same(a, b) -> bool:
    """Two results of one search: everything but the time."""
    return dataclasses.replace(a, stats=dataclasses.replace(a.stats, seconds=0)) == \
        dataclasses.replace(b, stats=dataclasses.replace(b.stats, seconds=0))


def instance():
    mdp = random_mdp(5, 6, 3)
    return mdp, random_distribution(6, mdp, zeros=0), F(1, 2)


def test_every_option_is_a_keyword_of_critical_epsilon_with_the_same_default():
    keywords = inspect.signature(critical_epsilon).parameters
    for field in dataclasses.fields(SearchOptions):
        assert keywords[field.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert keywords[field.name].default == field.default, field.name
    assert SearchOptions().max_closure_bytes == MAX_CLOSURE_BYTES
    extra = set(keywords) - {f.name for f in dataclasses.fields(SearchOptions)}
    assert extra == {"mdp", "data", "regret_bound", "options", "stop"}


def test_options_keywords_and_the_class_run_the_same_search():
    mdp, D, L = instance()
    for knobs in ({}, {"max_nodes": 25, "refine": False}, {"branching": "fixed", "max_nodes": 40},
                  {"decide_epsilon": F(1, 100)}):
        by_keywords = critical_epsilon(mdp, D, L, **knobs)
        by_options = critical_epsilon(mdp, D, L, options=SearchOptions(**knobs))
        by_class = BranchAndBound(mdp, D, L, SearchOptions(**knobs)).run()
        assert same(by_keywords, by_options) and same(by_keywords, by_class)


def test_a_keyword_overrides_the_field_of_the_options_it_comes_with():
    mdp, D, L = instance()
    options = SearchOptions(max_nodes=10, regret_aware=False)
    mixed = critical_epsilon(mdp, D, L, options=options, max_nodes=30)
    assert same(mixed, critical_epsilon(mdp, D, L, max_nodes=30, regret_aware=False))
    assert mixed.stats.nodes > 10


def test_stop_is_polled_with_the_options_should_stop():
    mdp, D, L = instance()
    polled = []
    options = SearchOptions(should_stop=lambda: polled.append("should_stop") or len(polled) > 4)
    stopped = critical_epsilon(mdp, D, L, options=options, stop=lambda: polled.append("stop") or False)
    assert not stopped.complete and polled[:6] == ["stop", "should_stop"] * 3
    assert critical_epsilon(mdp, D, L, stop=lambda: False, should_stop=lambda: False).complete


def test_the_errors_are_the_same_with_options_or_keywords():
    mdp = random_mdp(5, 6, 3)
    D = uniform_distribution(mdp)
    for call in (lambda **k: critical_epsilon(mdp, D, F(1, 2), **k),
                 lambda **k: critical_epsilon(mdp, D, F(1, 2), options=SearchOptions(**k))):
        with pytest.raises(ValueError, match="branching must be 'fixed' or 'dynamic', got 'best'"):
            call(branching="best")
        with pytest.raises(ValueError, match="branch_order must be a permutation of the 6 states"):
            call(branch_order=[0] * 6)
        with pytest.raises(ValueError, match="root must fix exactly the first states of the branch order"):
            call(root=[None] * 5)
    with pytest.raises(ModelError, match="the regret bound L = 2 must satisfy 0 < L <= 1"):
        critical_epsilon(mdp, D, F(2), options=SearchOptions())
