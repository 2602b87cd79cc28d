"""Fuzzing the standalone checker: it fails closed, by rule (issue 14).

Structured mutations (a key deleted, added, renamed or swapped; a value replaced by another type,
a name, a huge, long, negative, float or nested value; a number changed) of a certificate of every
kind the toolkit writes.  Every mutant must be rejected by a rule of ``RULES`` (never
``internal-error``), or verified only if its claim is true: the claim (instance and verdict) did not
change, or an independent decision says it holds (the exact engine for λ = 0; for λ > 0 the
witness replayed in mpmath, or a claim the original implies).

CI runs ``CI_MUTANTS`` mutants per kind with a fixed seed.  ``REWARDCERT_FUZZ_MUTANTS=10000`` (a total,
shared by the kinds) runs a campaign; ``python -m benchmarks.fuzz_checker`` prints its figures."""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import json
import os
import random
import re
import reprlib
from collections import Counter
from fractions import Fraction as F
from pathlib import Path

import pytest

from rewardcert.proofs import checker
from rewardcert.proofs.certcheck import RULES
from tests.conftest import EXAMPLES, ROOT

SEED = 14
CI_MUTANTS = 250
INSTANCES = ROOT / "proofs" / "instances"
SLOW_INSTANCES = {"figure4-kl-lambda-1-2-interval.json"}   # 814 KB: 4 s a check, too slow to fuzz


# -- the certificates ---------------------------------------------------------------------------

def _instance(name: str) -> dict:
    path = INSTANCES / name if (INSTANCES / name).exists() else INSTANCES / "regularised" / name
    return json.loads(path.read_text())


def _kind_of(document: dict) -> str:
    verdict, evidence = document["verdict"], document["evidence"]
    if document["instance"].get("error") == "preference":
        return "preference-" + verdict.removeprefix("regularised-")
    if "duplicates" in evidence and verdict != "safest":
        return "duplicates"
    return verdict


def _as_interval(safe: dict, unsafe: dict) -> dict:
    """The regularised interval [ε_safe, ε_unsafe] from a safe and an unsafe certificate of one instance."""
    document = copy.deepcopy(safe)
    instance = document["instance"]
    assert {k: v for k, v in instance.items() if k != "epsilon"} == \
        {k: v for k, v in unsafe["instance"].items() if k != "epsilon"}
    instance["critical_error"] = {"lower": instance.pop("epsilon"), "upper": unsafe["instance"]["epsilon"]}
    document["verdict"] = "regularised-interval"
    document["evidence"]["box_radius"] = instance["critical_error"]["lower"]
    for key in ("witness", "soft_box", "comparison_policy"):
        if key in unsafe["evidence"]:
            document["evidence"][key] = unsafe["evidence"][key]
    return document


def _lambda_zero_generated() -> list[dict]:
    from benchmarks.common import random_distribution, random_mdp
    from rewardcert.certificates import interval_certificate, safety_certificate, threshold_certificate
    from rewardcert.symbolic.search import engine as safety
    from rewardcert.symbolic.core.io import load_model, model_from_document
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.search.engine import critical_epsilon
    from tests.test_action_sets import BASE
    from tests.test_duplicates import with_copies
    import tomllib
    out = []
    chain = load_model(EXAMPLES / "chain3.toml").mdp
    D = uniform_distribution(chain)
    result = critical_epsilon(chain, D, F(1, 2))
    out += [safety_certificate(chain, D, F(1, 100), F(1, 2), result),
            safety_certificate(chain, D, F(1, 2), F(1, 2), result)]
    figure4 = load_model(EXAMPLES / "figure4.toml").mdp
    mdp, D = with_copies(figure4, uniform_distribution(figure4), {0: 0})
    out.append(threshold_certificate(mdp, D, F(4, 5), critical_epsilon(mdp, D, F(4, 5))))
    mdp = random_mdp(501, 4, 3)                       # a stopped search: open leaves (tests/test_interval.py)
    D = random_distribution(1, mdp, zeros=0)
    out.append(interval_certificate(mdp, D, F(1, 4), critical_epsilon(mdp, D, F(1, 4), max_nodes=12)))
    saved = safety.NODE_OCCUPANCY_DEPTHS
    safety.NODE_OCCUPANCY_DEPTHS = frozenset((1, 2, 3))   # node bounds on a small tree
    try:
        for seed in (13, 8):       # occupancy vectors, node occupancy (13) and regret-dual leaves
            mdp = random_mdp(9000 + seed, 3, 2)
            D = random_distribution(seed, mdp, zeros=0)
            out.append(threshold_certificate(mdp, D, F(1, 4), critical_epsilon(mdp, D, F(1, 4))))
    finally:
        safety.NODE_OCCUPANCY_DEPTHS = saved
    mdp, _ = model_from_document(tomllib.loads(BASE))       # per-state action sets (§8)
    D = uniform_distribution(mdp)
    result = critical_epsilon(mdp, D, F(1, 2))
    out += [threshold_certificate(mdp, D, F(1, 2), result), safety_certificate(mdp, D, F(1, 100), F(1, 2), result)]
    out += _squared_generated()
    for document in out:
        if "occupancy" in document["evidence"] and document["verdict"] != "interval":
            document["kind"] = "occupancy"
        if document["instance"]["model"].get("enabled"):
            document["kind"] = "action-sets"
    return out


def _regularised_generated() -> list[dict]:
    from rewardcert.certificates import regularised_certificate
    from rewardcert.symbolic.core.io import load_model
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.core.policyfile import load_policy
    from rewardcert.symbolic.regularised.verdicts import regularised_certify
    from rewardcert.symbolic.regularised.preference import reference_data, rlhf_certify
    out = []
    chatbot = load_model(EXAMPLES / "chatbot.toml")
    D = chatbot.data
    result = regularised_certify(chatbot.mdp, D, F(1, 200), F(1, 2), F(1, 2), timeout=60)
    out.append(regularised_certificate(chatbot.mdp, D, F(1, 2), result, F(1, 200)))
    figure4 = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(figure4)
    safe, unsafe = (regularised_certificate(figure4, D, F(33, 59), regularised_certify(
        figure4, D, epsilon, F(33, 59), F(1, 2), timeout=60), epsilon) for epsilon in (F(1, 5), F(1, 2)))
    out += [safe, _as_interval(safe, unsafe)]          # box trees with splits and soft boxes
    bandit = load_model(EXAMPLES / "rlhf-bandit.toml").mdp
    reference = load_policy(EXAMPLES / "rlhf-reference.toml", bandit)
    D = reference_data(bandit, reference)
    low, high = F(1, 10 ** 10), F(1, 10)               # a box tree with splits at 10^-10
    safe = regularised_certificate(bandit, D, F(1, 2), rlhf_certify(bandit, low, F(1, 2), F(1), reference), low)
    unsafe = regularised_certificate(bandit, D, F(1, 2), rlhf_certify(bandit, high, F(1, 2), F(1), reference), high)
    return out + [safe, _as_interval(safe, unsafe)]


@functools.cache
def certificates() -> dict[str, list[str]]:
    """kind -> the JSON texts of its certificates, each verified here."""
    documents = [_instance(path.name) for folder in (INSTANCES, INSTANCES / "regularised")
                 for path in sorted(folder.glob("*.json")) if path.name not in SLOW_INSTANCES]
    documents += _lambda_zero_generated() + _regularised_generated()
    kinds: dict[str, list[str]] = {}
    for document in documents:
        kind = document.pop("kind", None) or _kind_of(document)
        text = json.dumps(document)
        status, message, _ = checker.check_document(json.loads(text))
        assert status == "verified", (kind, message)
        kinds.setdefault(kind, []).append(text)
    return kinds


# -- mutations ----------------------------------------------------------------------------------

def _nested(depth: int, leaf="1/2", kind=list):
    value = leaf
    for _ in range(depth):
        value = [value] if kind is list else {"s": value}
    return value


def _palette(names: list[str]) -> list:
    """Replacement values: every JSON type, and the numbers and names a careless or hostile
    producer might write."""
    return [None, True, False, 0, -1, 7, 10 ** 30, 10 ** 2500, -(10 ** 1999), 0.5, -0.0, 1e308, float("inf"),
            float("nan"), "", "x", "bogus", "NaN", "inf", "-inf", "1/0", "0/5", "-0", "1e2001", "1e-2000",
            "1" * 2000, "1/" + "7" * 1998, "-" + "3" * 1999, "1" * 2001, " 1/2 ", "+1/2", "1/2/3", "0x10",
            "\u00bd", "\u0661/\u0662", "1_000", "3.25e1", {}, [], {"x": "s0"}, ["s0", "a1"], [[["s0"]]],
            "open", "open y", "open w", {"close": "far"}, {"close": "regret"}, {"split": "s0", "children": {}},
            _nested(50), _nested(3000), _nested(3000, kind=dict), *names]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong = 3, 40, 40


def _short(value) -> str:
    return _REPR.repr(value)


def _paths(node, path=()):
    """Every (path, value) below ``node``, the root excluded."""
    stack = [(node, path)]
    while stack:
        here, path = stack.pop()
        items = here.items() if isinstance(here, dict) else enumerate(here) if isinstance(here, list) else ()
        for key, value in items:
            yield path + (key,), value
            stack.append((value, path + (key,)))


def _number(value) -> F | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return F(value) if not isinstance(value, str) or re.fullmatch(r"-?\d+(/\d+)?", value) else None
    except (ValueError, ZeroDivisionError):
        return None


def _numbers(r: F) -> list:
    return [str(r + 1), str(r - 1), str(-r), str(2 * r), str(r / 3), "0", "1", str(r + F(1, 10 ** 60)),
            str(r - F(1, 10 ** 60)), f"{r.numerator * 10 ** 900}/{r.denominator * 10 ** 900}",
            str(r + F(1, 10 ** 1900)), int(r) if r.denominator == 1 else float(r), f"{float(r):.3f}"]


def mutate(document: dict, rng: random.Random, names: list[str]) -> str:
    """Apply one random structured mutation to ``document`` (in place); describe it."""
    nodes = list(_paths(document))
    if rng.random() < 0.3:        # the instance is a small part of a tree-heavy document: weigh it up
        nodes = [n for n in nodes if n[0][0] == "instance"] or nodes
    path, value = rng.choice(nodes)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    operation = rng.choice(["delete", "replace", "replace", "number", "retype", "swap", "rename", "add",
                            "duplicate"])
    number = _number(value)
    if operation == "number" and number is not None:
        parent[key] = rng.choice(_numbers(number))
    elif operation == "retype" and isinstance(value, (dict, list, str, int)):
        parent[key] = (list(value.values()) if isinstance(value, dict) else
                       {str(i): v for i, v in enumerate(value)} if isinstance(value, list) else
                       int(number) if isinstance(value, str) and number is not None and number.denominator == 1 else
                       [value] if isinstance(value, str) else str(value))
    elif operation == "swap" and isinstance(parent, dict) and len(parent) > 1:
        other = rng.choice([k for k in parent if k != key])
        parent[key], parent[other] = parent[other], parent[key]
        return f"swap {list(path)} <-> {other!r}"
    elif operation == "swap" and isinstance(parent, list) and len(parent) > 1:
        parent.reverse()
        return f"reverse {list(path[:-1])}"
    elif operation == "rename" and isinstance(parent, dict):
        new = rng.choice(names + ["bogus", "occupancy", "values", "comment", "close", "split", "y", "w", "t"])
        if new in parent:
            return "nothing"
        parent[new] = parent.pop(key)
        return f"rename {list(path)} -> {new!r}"
    elif operation == "add" and isinstance(value, dict):
        new = rng.choice(names + ["bogus", "occupancy", "duplicates", "epsilon_upper", "regularisation", "error",
                                  "cover", "box_radii", "soft_box", "values", "t", "w", "y", "critical_error"])
        if new in value:
            return "nothing"
        value[new] = rng.choice(_palette(names))
        return f"add {list(path)}[{new!r}] = {_short(value[new])}"
    elif operation == "duplicate" and isinstance(value, list) and value:
        value.append(copy.deepcopy(rng.choice(value)))
    elif operation == "duplicate" and isinstance(value, dict) and value:
        new = rng.choice(names + ["bogus"])
        value[new] = copy.deepcopy(value[rng.choice(list(value))])
    elif operation == "delete":
        del parent[key]
        return f"del {list(path)}"
    else:
        parent[key] = rng.choice(_palette(names))
        operation = "replace"
    return f"{operation} {list(path)} = {_short(parent[key])}"


# -- deciding a verified mutant's claim ---------------------------------------------------------

def _meaning(document: dict) -> tuple:
    """The claim as mathematics: the verdict and the instance's numbers by name (read with
    ``Fraction``, zero entries dropped as the format omits them); names, order and text ignored."""
    instance = document["instance"]
    model = instance["model"]

    def q(value) -> F:
        assert not isinstance(value, (bool, float))
        return F(value.strip()) if isinstance(value, str) else F(value)

    def table(rows, depth=2) -> frozenset:
        if depth == 1:
            return frozenset((k, q(v)) for k, v in rows.items() if q(v))
        return frozenset((k, table(v, depth - 1)) for k, v in rows.items())

    def ends(key):
        value = instance.get(key)
        return value if value in (None, "inf") else q(value)

    gamma = q(model["gamma"])
    regularisation = instance.get("regularisation")
    interval = instance.get("critical_error")
    return (document["verdict"], frozenset(model["states"]), frozenset(model["actions"]),
            frozenset((s, frozenset(a)) for s, a in model.get("enabled", {}).items()), gamma,
            table(model["transitions"], 3) if gamma else None, table(model["initial"], 1), table(model["reward"]),
            table(instance["data"]), ends("epsilon"), ends("epsilon_upper"), q(instance["regret_bound"]),
            regularisation and (q(regularisation["lambda"]), table(regularisation["reference"]),
                                regularisation["regulariser"]),
            instance.get("error", "absolute"), interval and tuple(
                v if v == "inf" else q(v) for v in (interval["lower"], interval["upper"])))


def _meaning_or_none(document: dict):
    try:
        return _meaning(document)
    except Exception:
        return None


@contextlib.contextmanager
def _no_number_limit():
    """The toolkit refuses a number whose reduced p/q has more than 2000 characters, while the
    checker limits the text as written ("1e-2000" is 7 characters): the oracle reads without it."""
    import rewardcert.symbolic.core.numbers as numbers
    saved = numbers.MAX_NUMBER_CHARS, numbers._COUNT_BITS, numbers._SURELY_SHORT_BITS
    numbers.MAX_NUMBER_CHARS = numbers._COUNT_BITS = numbers._SURELY_SHORT_BITS = 10 ** 9
    try:
        yield
    finally:
        numbers.MAX_NUMBER_CHARS, numbers._COUNT_BITS, numbers._SURELY_SHORT_BITS = saved


def claim_holds(mutant: dict, original: dict) -> tuple[bool | None, str]:
    """Whether a verified mutant's claim is true (True, False, or None: undecided), and how."""
    if _meaning_or_none(mutant) == _meaning(original):
        return True, "unchanged"        # the original certificate's claim, which is true
    try:
        with _no_number_limit():
            regularised = mutant["verdict"].startswith("regularised-")
            if mutant["verdict"].startswith("squared-"):
                holds = _squared_claim_holds(mutant)
            else:
                holds = _regularised_claim_holds(mutant) if regularised else _exact_claim_holds(mutant)
        return holds, "decided" if holds is not None else "inconclusive"
    except Exception as exc:            # the toolkit cannot read or decide it
        return None, f"{type(exc).__name__}: {str(exc)[:100]}"


def _exact_claim_holds(document: dict) -> bool:
    """λ = 0: decided by the exact engine (and ε** by the cutting-plane search for ``safest``)."""
    from rewardcert.symbolic.core.io import data_from_table, model_from_document
    from rewardcert.symbolic.core.numbers import parse_rational
    from rewardcert.symbolic.paper.safest import safest_distribution
    from rewardcert.symbolic.search.engine import critical_epsilon
    instance, verdict = document["instance"], document["verdict"]
    mdp, _ = model_from_document(instance["model"])
    D = data_from_table(mdp, instance["data"])
    L = parse_rational(instance["regret_bound"])
    if not 0 < L <= 1:
        return False
    star = critical_epsilon(mdp, D, L).critical_epsilon        # None: +inf

    def value(key):
        return None if instance[key] == "inf" else parse_rational(instance[key])

    if verdict == "interval":
        lo, hi = value("epsilon"), value("epsilon_upper")
        return lo is not None and (star is None or lo <= star) and (hi is None or (star is not None and star <= hi))
    if verdict in ("threshold", "safest"):
        v = value("epsilon")
        return star == v and (verdict == "threshold" or safest_distribution(mdp, L).max_critical_epsilon == v)
    epsilon = value("epsilon")
    return (star is None or epsilon < star) == (verdict == "safe")


def _squared_claim_holds(document: dict) -> bool:
    """The mean-squared error at λ = 0: decided by the exact engine (itself checked against a brute
    force on the QP's dual in tests/test_squared.py)."""
    from rewardcert.symbolic.core.io import data_from_table, model_from_document
    from rewardcert.symbolic.core.numbers import parse_rational
    from rewardcert.symbolic.search.squared import squared_threshold
    instance, verdict = document["instance"], document["verdict"]
    mdp, _ = model_from_document(instance["model"])
    D = data_from_table(mdp, instance["data"])
    L = parse_rational(instance["regret_bound"])
    if not 0 < L <= 1 or instance.get("error") != "squared":
        return False
    star = squared_threshold(mdp, D, L).critical_epsilon         # None: +inf
    epsilon = None if instance["epsilon"] == "inf" else parse_rational(instance["epsilon"])
    if verdict == "squared-threshold":
        return star == epsilon
    return (star is None or epsilon < star) == (verdict == "squared-safe")


def _regularised_claim_holds(document: dict) -> bool | None:
    """λ > 0: an unsafe end by replaying its witness in mpmath; a safe end by the toolkit's own
    search (``regularised_certify``, ``rlhf_certify``), whose unsafe answer is replayed the same way."""
    verdict, instance = document["verdict"], document["instance"]
    if verdict == "regularised-unsafe":
        return _witness_attacks(document, F(instance["epsilon"]))
    if verdict == "regularised-safe":
        return _safe_at(document, F(instance["epsilon"]))
    lower, upper = (instance["critical_error"][k] for k in ("lower", "upper"))
    answers = [True if F(lower) == 0 else _safe_at(document, F(lower)),
               True if upper == "inf" else _witness_attacks(document, F(upper))]
    return False if False in answers else None if None in answers else True


def _regularised_instance(document: dict):
    from rewardcert.symbolic.core.io import data_from_table, model_from_document
    instance = document["instance"]
    mdp, _ = model_from_document(instance["model"])
    table = instance["regularisation"]["reference"]
    reference = [[F(table[s].get(a, 0)) for a in mdp.actions] for s in mdp.states]
    return (mdp, data_from_table(mdp, instance["data"]), F(instance["regret_bound"]),
            F(instance["regularisation"]["lambda"]), reference, instance.get("error", "absolute") == "preference")


def _safe_at(document: dict, epsilon: F) -> bool | None:
    from rewardcert.certificates import regularised_certificate
    from rewardcert.symbolic.regularised.verdicts import regularised_certify
    from rewardcert.symbolic.core.results import Verdict
    from rewardcert.symbolic.regularised.preference import rlhf_certify
    mdp, D, L, lam, reference, preference = _regularised_instance(document)
    result = (rlhf_certify(mdp, epsilon, L, lam, reference, timeout=60) if preference else
              regularised_certify(mdp, D, epsilon, L, lam, reference, timeout=60))
    verdict = result.verdict(epsilon)
    if verdict is Verdict.UNSAFE:
        return False if _witness_attacks(regularised_certificate(mdp, D, L, result, epsilon), epsilon) else None
    return True if verdict is Verdict.SAFE else None


def _witness_attacks(document: dict, epsilon: F) -> bool | None:
    """Whether the witness reward has error <= ε range R and its regularised optimum regret >= L, in
    mpmath (70 digits and more for a tiny λ); None when the regret is within 10^-30 of L."""
    import mpmath
    from rewardcert.symbolic.guidance.floatvi import return_bounds
    from tests import regularised_reference as reference_module
    from tests.regularised_reference import mp, regret, soft_optimum
    from tests.test_rlhf import mp_preference_error
    mdp, D, L, lam, reference, preference = _regularised_instance(document)
    table = document["evidence"]["witness"]["reward"]
    witness = [F(table[s][a]) for s in mdp.states for a in mdp.actions]
    budget = epsilon * mdp.range_reward
    if preference:
        if mp_preference_error(mdp, reference, witness) > mp(budget):
            return False
    elif sum(d * abs(w - r) for d, w, r in zip(D, witness, mdp.reward)) > budget:
        return False
    bounds = return_bounds(mdp)
    # π̂ = π_ref exp((Q − W)/λ) needs W to ~70 digits below λ, and below the rewards' size.
    largest = max(abs(v) for v in witness + list(mdp.reward)) + 1
    saved = reference_module.DIGITS
    reference_module.DIGITS = 70 + max(0, len(str(lam.denominator)) - len(str(lam.numerator))) + \
        len(str(int(largest)))
    try:
        with mpmath.workdps(reference_module.DIGITS):
            if mdp.gamma == 0:     # a bandit: π̂(·|s) ∝ π_ref exp(R̂/λ), terms below e^-10^6 taken as 0
                pi = []
                for s in range(mdp.n_states):
                    q = [mp(witness[s * mdp.n_actions + a]) for a in range(mdp.n_actions)]
                    weights = [mp(p) * mpmath.exp(max((v - max(q)) / mp(lam), -10 ** 6))
                               for p, v in zip(reference[s], q)]
                    pi.append([w / sum(weights) for w in weights])
            else:
                _, pi = soft_optimum(mdp, witness, lam, reference)
            gap = regret(mdp, pi, bounds.optimal_return, bounds.pessimal_return) - mp(L)
    finally:
        reference_module.DIGITS = saved
    return None if abs(gap) < mpmath.mpf(10) ** -30 else gap > 0


# -- the campaign -------------------------------------------------------------------------------

def _squared_generated() -> list[dict]:
    """The mean-squared error's three verdicts (App. B.3): Figure 4 and a 3-state chain."""
    from rewardcert.certificates import squared_certificate
    from rewardcert.symbolic.core.io import load_model
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.search.squared import squared_threshold
    out = []
    for name, L in (("figure4", F(4, 5)), ("chain3", F(1, 2))):
        mdp = load_model(EXAMPLES / f"{name}.toml").mdp
        D = uniform_distribution(mdp)
        result = squared_threshold(mdp, D, L)
        star = result.critical_epsilon
        out += [squared_certificate(mdp, D, L, result), squared_certificate(mdp, D, L, result, star / 2),
                squared_certificate(mdp, D, L, result, star)]
    return out


def _names(document: dict) -> list[str]:
    model = document["instance"]["model"]
    return list(model["states"][:2]) + list(model["actions"][:2])


def outcomes(kind: str, count: int, seed: int = SEED, check=None):
    """``count`` mutants of the certificates of ``kind`` (round robin), each checked by ``check``
    (``checker.check_document``): yields ``(description, status, rule, message, holds, how)``, where
    ``holds`` (True, False or None: undecided) and ``how`` judge a verified mutant's claim."""
    check = check or checker.check_document
    texts = certificates()[kind]
    rng = random.Random(f"{seed}-{kind}")
    for index in range(count):
        text = texts[index % len(texts)]
        original = json.loads(text)
        mutant = json.loads(text)
        description = mutate(mutant, rng, _names(original))
        status, message, facts = check(mutant)
        holds, how = claim_holds(mutant, original) if status == "verified" else (None, "")
        if holds is None and status == "verified":
            how += " (beyond floats)" if _beyond_floats(mutant["instance"]) else ""
        yield description, status, facts.get("rule"), message, holds, how


def fuzz(kind: str, count: int, seed: int = SEED, undecided: list | None = None) -> Counter:
    """Count the outcomes of ``outcomes``; list in ``undecided`` the verified mutants whose claim the
    oracle could not decide.  AssertionError at an internal error, unknown rule or false acceptance."""
    tally = Counter()
    for description, status, rule, message, holds, how in outcomes(kind, count, seed):
        assert rule != "internal-error", (kind, description, message)
        if status == "rejected":
            assert rule in RULES, (kind, description, message)
            tally[f"rejected: {rule}"] += 1
            continue
        assert status == "verified", (kind, description, message)
        assert holds is not False, f"{kind}: verified a false claim after {description}"
        if holds is None and undecided is not None:
            undecided.append((kind, description, how))
        tally["verified: claim undecided" if holds is None else "verified: claim unchanged" if how == "unchanged"
              else "verified: claim shown true"] += 1
    return tally


def _beyond_floats(instance: dict) -> bool:
    """Whether ``instance`` holds a number outside the range of floats (beyond 10^±300)."""
    for _, value in _paths(instance):
        number = _number(value) if not isinstance(value, str) else _decimal(value)
        if number and not F(1, 10 ** 300) < abs(number) < 10 ** 300:
            return True
    return False


def _decimal(text: str) -> F | None:
    try:
        return F(text.strip()) if len(text) <= 2000 and "_" not in text else None
    except (ValueError, ZeroDivisionError):
        return None


def mutants_per_kind() -> int:
    total = int(os.environ.get("REWARDCERT_FUZZ_MUTANTS", "0"))
    return -(-total // len(certificates())) if total else CI_MUTANTS


KINDS = ["unsafe", "safe", "threshold", "safest", "interval", "duplicates", "occupancy", "action-sets",
         "squared-unsafe", "squared-safe", "squared-threshold",
         "regularised-unsafe", "regularised-safe", "regularised-interval", "preference-unsafe", "preference-safe",
         "preference-interval"]


def test_every_kind_is_fuzzed():
    assert sorted(certificates()) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_mutants_are_rejected_by_a_rule_or_their_claim_holds(kind):
    undecided: list = []
    tally = fuzz(kind, mutants_per_kind(), undecided=undecided)
    assert sum(n for outcome, n in tally.items() if outcome.startswith("rejected")) > 0
    # The toolkit's searches are guided by floats: only a claim about a number beyond their range
    # may stay undecided (benchmarks/fuzz_checker.py lists them).
    assert all(how.endswith("(beyond floats)") for *_, how in undecided), undecided


# -- the rule names -----------------------------------------------------------------------------

PACKAGE = ROOT / "proofs" / "certcheck"
SOURCES = [ROOT / "proofs" / "checker.py", *sorted(PACKAGE.glob("*.py"))]


def documented_rules() -> set[str]:
    """The backticked names in the first column of every ``| rule | fails when |`` table."""
    rules, in_table = set(), False
    for line in (ROOT / "docs" / "certificate-format.md").read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r"\|\s*rule\s*\|\s*fails when\s*\|", line.strip()):
            in_table = True
        elif in_table and line.startswith("|"):
            rules.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
        else:
            in_table = False
    return rules


def test_the_rules_are_exactly_the_documented_ones():
    assert len(set(RULES)) == len(RULES)
    assert set(RULES) == documented_rules()


def rule_arguments() -> list[tuple[str, int, ast.expr]]:
    """Every argument the checker's source passes to a parameter named ``*rule*`` of its own
    functions (``Reject``, ``require``, ``rational``, ``obj``, ...): (file, line, argument)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES}
    positions: dict[str, list[tuple[int, str]]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            functions = [node] if isinstance(node, ast.FunctionDef) and not node.name.startswith("__") else \
                [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"] \
                if isinstance(node, ast.ClassDef) else []
            for function in functions:
                names = [a.arg for a in function.args.args]
                names = names[1:] if names and names[0] in ("self", "cls") else names
                found = [(i, name) for i, name in enumerate(names) if "rule" in name]
                if found:
                    positions[node.name] = found
    out = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                for index, parameter in positions.get(name, ()):
                    given = node.args[index] if index < len(node.args) else \
                        next((k.value for k in node.keywords if k.arg == parameter), None)
                    if given is not None:
                        out.append((path.name, node.lineno, given))
    return out


def test_every_rule_the_source_names_is_in_rules():
    arguments = rule_arguments()
    assert len(arguments) > 150
    for where, line, argument in arguments:
        if isinstance(argument, ast.Constant):
            assert argument.value in RULES, (where, line, argument.value)
        else:       # a rule handed on by its caller, itself checked here
            assert isinstance(argument, ast.Name) and "rule" in argument.id, (where, line, ast.unparse(argument))
    from rewardcert.proofs.certcheck.families import LEAVES       # rules kept in a table, raised as variables
    assert {rule for _, shape_rule, infinite_rule, _ in LEAVES.values() for rule in (shape_rule, infinite_rule)
            if rule} <= set(RULES)
    named = {a.value for _, _, a in arguments if isinstance(a, ast.Constant)}
    literals = {node.value for path in SOURCES for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Constant)}
    assert set(RULES) - named <= {"internal-error"} and "internal-error" in literals


# -- regressions: shapes that once made the checker's own code fail ------------------------------
# Each was rejected as internal-error by the single-file checker (a294757): TypeError, OverflowError,
# ValueError or RecursionError in its own code.

def _document(kind: str, index: int = 0) -> dict:
    return json.loads(certificates()[kind][index])


def _split_node(tree: dict) -> dict:
    stack = [tree]
    while stack:
        node = stack.pop()
        if "split" in node:
            return node
        stack.extend(node.get("children", ()))
    raise AssertionError("no split node")


def _rule(document) -> str:
    status, message, facts = checker.check_document(document)
    assert status == "rejected", message
    return facts["rule"]


def test_a_box_split_with_split_and_children_swapped_is_reg_split():
    document = _document("preference-safe")
    node = _split_node(document["evidence"]["box_tree"])      # was: TypeError: unhashable type: 'dict'
    node["split"], node["children"] = node["children"], node["split"]
    assert _rule(document) == "reg-split"


@pytest.mark.parametrize("split", [{"x": "s0"}, [{"x": "s0"}, "a"], ["benign", {"x": "s0"}], [["benign"], "helpful"],
                                   ["benign"], "benign", None])
def test_a_box_split_that_names_no_pair_is_reg_split(split):
    document = _document("preference-safe")
    _split_node(document["evidence"]["box_tree"])["split"] = split   # [{...}, a] was: unhashable type
    assert _rule(document) == "reg-split"


@pytest.mark.parametrize("kind", ["preference-unsafe", "regularised-unsafe"])
def test_a_regularised_witness_reward_of_2000_digits_is_a_witness_error(kind):
    document = _document(kind)
    row = next(iter(document["evidence"]["witness"]["reward"].values()))
    row[next(iter(row))] = "1" * 2000        # was: OverflowError, float() of the preference error in a message
    assert _rule(document) == ("reg-preference-error" if kind == "preference-unsafe" else "reg-witness-error")


def test_witness_numbers_of_2000_characters_are_read_and_named_shortly():
    document = json.loads((INSTANCES / "figure4-unsafe.json").read_text())
    row = document["evidence"]["witness"]["reward"]["s"]
    for action, denominator in zip(row, ("7" * 1998, "3" * 1997 + "1", "9" * 1997 + "7")):
        row[action] = "1/" + denominator     # was: ValueError, str() of a 5,994-digit error in a message
    status, message, facts = checker.check_document(document)
    assert facts["rule"] == "witness-error" and len(message) < 200, message


@pytest.mark.parametrize("where", [("verdict",), ("evidence", "tree", "split"), ("evidence", "optimal_policy", "s"),
                                   ("instance", "epsilon"), ("evidence", "tree", "children", "a1", "close")])
def test_a_deeply_nested_value_is_rejected_by_the_rule_of_its_field(where):
    document = json.loads((INSTANCES / "figure4-threshold-uniform.json").read_text())
    target = document
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = _nested(5000)        # was: RecursionError, repr() of it in a message
    assert _rule(document) in {"verdict", "tree-split", "optimal-policy", "epsilon", "regret-member"}


def test_an_integer_of_5000_digits_is_too_long():
    document = json.loads((INSTANCES / "figure4-threshold-uniform.json").read_text())
    document["instance"]["epsilon"] = 10 ** 5000   # was: ValueError, str() of it past Python's 4300 digits
    status, message, facts = checker.check_document(document)
    assert facts["rule"] == "epsilon" and "too long" in message


def test_a_regularised_interval_with_a_nested_end_is_reg_interval():
    document = _document("regularised-interval")
    document["instance"]["critical_error"]["lower"] = _nested(5000)   # was: RecursionError, str() in the facts
    assert _rule(document) == "reg-interval"


@pytest.mark.parametrize("kind", ["threshold", "interval"])
def test_a_leaf_kind_is_read_as_written(kind):
    """Only an interval tree has open leaves, and only ``"open"`` names one (not the table's own keys)."""
    document = _document(kind)
    stack, leaf = [document["evidence"]["tree"]], None
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", {}).values())
        leaf = leaf or (node if node.get("close") == ("dual" if kind == "threshold" else "open") else None)
    for close in ("open y", "open w", "open", ["open"], None):
        if close != "open" or kind == "threshold":
            leaf["close"] = close
            assert _rule(copy.deepcopy(document)) == "tree-split", close


# -- deep JSON: parsed up to MAX_DEPTH levels, unreadable beyond ----------------------------------

def _with_comment(levels: int) -> str:
    """figure4's threshold certificate with a ``comment`` (ignored) nested ``levels`` deep, so the
    document is ``levels + 1`` deep."""
    text = (INSTANCES / "figure4-threshold-uniform.json").read_text()
    return text[:text.rindex("}")] + ', "comment": ' + "[" * levels + "]" * levels + "}"


def test_a_document_as_deep_as_max_depth_is_read_and_a_deeper_one_is_unreadable(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(_with_comment(checker.MAX_DEPTH - 1))
    assert checker.check_file(str(path))[0] == "verified"     # the parser alone stops near 1000 levels
    path.write_text(_with_comment(checker.MAX_DEPTH))
    status, message, _ = checker.check_file(str(path))
    assert status == "unreadable" and f"deeper than {checker.MAX_DEPTH}" in message
    assert checker.main([str(path)]) == 2
    path.write_text("[" * 10 ** 6 + "]" * 10 ** 6)
    assert checker.check_file(str(path))[0] == "unreadable"


# -- the package: layout, script mode, the λ = 0 trusted base ---------------------------------------

def test_every_checker_file_is_short_and_every_function_shorter():
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 500, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 150, (path, node.name)


def test_the_instance_and_what_the_evidence_adds_are_frozen():
    import dataclasses
    from rewardcert.proofs.certcheck.instance import read_instance
    from rewardcert.proofs.certcheck.unregularised import read_basis
    document = _document("occupancy")
    inst = read_instance(document["instance"], document["verdict"])
    basis, _ = read_basis(inst, document["evidence"], document["verdict"])
    for frozen, field in ((inst, "epsilon"), (inst, "reward"), (basis, "horizon"), (basis, "covered")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, field, None)
    assert isinstance(inst.reward, tuple) and isinstance(basis.horizon, tuple)


LAMBDA_ZERO_RUN = """
import sys
sys.path.insert(0, sys.argv[1])
from proofs import checker          # the checker as a standalone folder, without the toolkit
for path in sys.argv[2:]:
    assert checker.check_file(path)[0] == "verified", path
print(*sorted(m for m in sys.modules if m.startswith("proofs")))
"""


def code_lines(path: Path) -> int:
    """Lines of ``path`` that are not blank, not comments and not docstrings."""
    text = path.read_text(encoding="utf-8")
    skipped = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skipped.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for number, line in enumerate(text.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and number not in skipped)


def _module_file(name: str) -> Path:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"


def lambda_zero_trusted_base(tmp_path: Path) -> tuple[list[Path], int, int]:
    """The files a bare interpreter loads to check λ = 0 certificates of every verdict (safe,
    unsafe, threshold, safest, interval): ``(files, lines, code lines)``."""
    import subprocess
    import sys
    interval = tmp_path / "interval.json"
    interval.write_text(certificates()["interval"][0])
    paths = [INSTANCES / name for name in ("figure4-safe.json", "figure4-unsafe.json", "chatbot-safest.json",
                                           "figure4-threshold-uniform.json")] + [interval]
    done = subprocess.run([sys.executable, "-I", "-S", "-c", LAMBDA_ZERO_RUN, str(ROOT), *map(str, paths)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    files = sorted(_module_file(name) for name in done.stdout.split())
    assert all(f.is_file() for f in files), files
    return files, sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files), sum(map(code_lines, files))


def test_a_lambda_zero_certificate_loads_under_1000_lines_of_checker_code(tmp_path):
    """The λ = 0 trusted base: the entry point, numbers, instance, linear solver and λ = 0 rules,
    never the λ > 0 modules; under 1000 lines of code (blank lines, comments, docstrings aside)."""
    files, lines, code = lambda_zero_trusted_base(tmp_path)
    assert not {PACKAGE / f"{m}.py" for m in ("regularised", "softmax", "preference", "series")} & set(files)
    assert PACKAGE / "linear.py" in files and PACKAGE / "interval.py" in files
    assert code < 1000, (code, lines)


@pytest.mark.parametrize("folder", ["proofs", "checker copy", "rewardcert-proofs"])
def test_the_script_runs_bare_from_any_folder(tmp_path, folder):
    """``python -I -S .../checker.py`` (-I implies -P: the script's folder is not on sys.path)."""
    import shutil
    import subprocess
    import sys
    here = tmp_path / "parent" / folder
    shutil.copytree(ROOT / "proofs", here, ignore=shutil.ignore_patterns("instances", "__pycache__"))
    (here / "__init__.py").unlink()           # the script needs no package file either
    for name in ("figure4-threshold-uniform.json", "regularised/theorem-6.1-rlhf-bandit-unsafe.json"):
        done = subprocess.run([sys.executable, "-I", "-S", str(here / "checker.py"), "--json", str(INSTANCES / name)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and json.loads(done.stdout)["result"] == "verified", done.stdout + done.stderr
