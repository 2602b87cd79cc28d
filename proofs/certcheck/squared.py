"""The mean-squared error at λ = 0 (paper App. B.3): ``squared-unsafe``, ``squared-safe`` and
``squared-threshold`` (docs/certificate-format.md §3.9).

P1 is ``Σ_x D(x)(R̂(x) − R(x))² ≤ ε (range R)²``.  A safe or threshold claim lists, for every
deterministic policy of regret ``≥ L`` (the checker enumerates them all), a KKT point ``(R̂*, y)`` of
``min Σ D(R̂ − R)²`` over the ``R̂`` that make the policy uniformly optimal; the rules below prove
that ``Σ D(R̂* − R)²`` is that minimum, exactly."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from .instance import Instance
from .reading import Reject, keys_within, num, obj, require
from .unregularised import base_facts, check_return_bounds

MAX_SQUARED_POLICIES = 4096   # the toolkit's limit too (symbolic/search/squared.py; a test keeps them equal)
EVIDENCE_KEYS = {"optimal_policy", "pessimal_policy", "witness", "policies"}


def _read(inst: Instance, instance: dict, evidence: dict, verdict: str):
    """Rules ``sq-instance``, ``evidence``, ``optimal-policy``, ``pessimal-policy``: ``thr`` (None when
    ``range J = 0``) and the claim's facts."""
    require(instance.get("error") == "squared", "sq-instance",
            f"a {verdict} certificate needs instance.error = \"squared\"")
    keys_within(evidence, EVIDENCE_KEYS, "evidence", "evidence")
    j_star, j_min = check_return_bounds(inst, evidence)
    facts = base_facts(inst, verdict)
    facts["error_measure"] = "squared"
    threshold = None if j_star == j_min else j_star - inst.regret_bound * (j_star - j_min)
    return threshold, facts


def _squared_error(inst: Instance, reward_model) -> Fraction:
    return sum((d * (rh - r) ** 2 for d, rh, r in zip(inst.data, reward_model, inst.reward) if d), Fraction(0))


def _high_regret_policies(inst: Instance, threshold: Fraction) -> set:
    """Rule ``sq-policies`` (the count): every deterministic policy with ``J ≤ thr``."""
    m = inst.m
    choices = [[a for a in range(m) if inst.enabled[s * m + a]] for s in range(inst.n)]
    total = 1
    for row in choices:
        total *= len(row)
    require(total <= MAX_SQUARED_POLICIES, "sq-policies",
            f"{total} deterministic policies; the checker enumerates at most {MAX_SQUARED_POLICIES}")
    found = set()
    for policy in product(*choices):
        if inst.ret(inst.values(policy, inst.reward)) <= threshold:
            found.add(tuple(policy))
    return found


def _check_kkt(inst: Instance, entry, k: int) -> tuple[tuple, Fraction]:
    """Rules ``sq-primal``, ``sq-stationarity``, ``sq-flow``, ``sq-dual-sign``, ``sq-active``,
    ``sq-complementarity`` for one listed policy; returns it and ``Σ D(R̂* − R)²``."""
    where = f"evidence.policies[{k}]"
    entry = obj(entry, "sq-primal", where)
    keys_within(entry, {"policy", "reward", "multipliers", "active"}, "sq-primal", where)
    policy = tuple(inst.policy(entry.get("policy"), "sq-primal", f"{where}.policy"))
    reward_model = inst.pair_table(entry.get("reward"), "sq-primal", f"{where}.reward", complete=True)
    y = inst.pair_table(entry.get("multipliers"), "sq-stationarity", f"{where}.multipliers", complete=True)
    adv, _ = inst.advantages(list(policy), reward_model)
    bad = next((x for x, v in enumerate(adv) if v > 0), None)
    require(bad is None, "sq-primal", f"{where}: the policy is not optimal for R^ (advantage > 0 at {inst.pair(bad)})")
    for x in range(inst.n * inst.m):
        if not inst.enabled[x]:
            continue
        if y[x] != inst.data[x] * (inst.reward[x] - reward_model[x]):
            raise Reject("sq-stationarity", f"{where}: y{inst.pair(x)} = {num(y[x])} is not D (R - R^) there")
    balance = [Fraction(0)] * inst.n
    for x, value in enumerate(y):
        if value:
            balance[x // inst.m] += value
            for t, gp in inst.succ[x]:
                balance[t] -= gp * value
    bad = next((s for s, v in enumerate(balance) if v), None)
    require(bad is None, "sq-flow", f"{where}: y is not a flow with no source at {inst.states[bad] if bad is not None else ''}")
    m = inst.m
    on = {s * m + a for s, a in enumerate(policy)}
    active = _read_active(inst, entry.get("active"), where)
    for x in range(inst.n * m):
        if not inst.enabled[x] or x in on:
            continue
        if y[x] < 0:
            raise Reject("sq-dual-sign", f"{where}: y{inst.pair(x)} < 0 off the policy")
        if x in active:
            if adv[x] != 0:
                raise Reject("sq-active", f"{where}: {inst.pair(x)} is listed active but its advantage is not 0")
        elif y[x] != 0:
            raise Reject("sq-complementarity", f"{where}: y{inst.pair(x)} != 0 off the active set")
    require(not (active & on), "sq-active", f"{where}: an active pair must be off the policy")
    return policy, _squared_error(inst, reward_model)


def _read_active(inst: Instance, value, where: str) -> set:
    require(isinstance(value, list), "sq-active", f"{where}.active must be a list of [state, action]")
    out = set()
    for item in value:
        ok = (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)
              and item[0] in inst.s_index and item[1] in inst.a_index)
        require(ok, "sq-active", f"{where}.active: expected [state, action] names")
        x = inst.s_index[item[0]] * inst.m + inst.a_index[item[1]]
        require(inst.enabled[x] and x not in out, "sq-active", f"{where}.active: {inst.pair(x)} is disabled or repeated")
        out.add(x)
    return out


def _check_policies(inst: Instance, evidence: dict, threshold: Fraction) -> list[Fraction]:
    """Rule ``sq-policies``: one KKT entry for each policy of regret ``≥ L``, and for no other."""
    needed = _high_regret_policies(inst, threshold)
    entries = evidence.get("policies")
    require(isinstance(entries, list) and len(entries) <= MAX_SQUARED_POLICIES, "sq-policies",
            "evidence.policies must be a list of at most the enumerated policies")
    values, seen = [], set()
    for k, entry in enumerate(entries):
        policy, value = _check_kkt(inst, entry, k)
        require(policy in needed and policy not in seen, "sq-policies",
                f"evidence.policies[{k}]: the policy has regret < L or is listed twice")
        seen.add(policy)
        values.append(value)
    require(seen == needed, "sq-policies", f"{len(needed - seen)} policies of regret >= L have no entry")
    return values


# -- the claims -----------------------------------------------------------------------------------

def check_unsafe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """A witness with ``Σ D(R̂ − R)² ≤ ε range R²`` whose policy is optimal for it and has regret ``≥ L``."""
    threshold, facts = _read(inst, instance, evidence, verdict)
    require(threshold is not None, "degenerate", "every policy has the same return, so none has regret >= L")
    witness = obj(evidence.get("witness"), "sq-witness", "evidence.witness")
    keys_within(witness, {"reward", "policy"}, "sq-witness", "evidence.witness")
    reward_model = inst.pair_table(witness.get("reward"), "sq-witness", "evidence.witness.reward", complete=True)
    bound = inst.epsilon * inst.range_reward ** 2
    error = _squared_error(inst, reward_model)
    require(error <= bound, "sq-witness", f"E_D(R^-R)^2 = {num(error)} exceeds epsilon range R^2 = {num(bound)}")
    policy = inst.policy(witness.get("policy"), "sq-witness", "evidence.witness.policy")
    adv, _ = inst.advantages(policy, reward_model)
    require(all(v <= 0 for v in adv), "sq-witness", "the witness policy is not optimal for the reward model")
    j = inst.ret(inst.values(policy, inst.reward))
    require(j <= threshold, "sq-witness", f"the witness policy's return {num(j)} exceeds J* - L range J")
    return facts


def check_safe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """Every policy of regret ``≥ L`` needs more than ``ε range R²`` (rule ``sq-safe-bound``)."""
    threshold, facts = _read(inst, instance, evidence, verdict)
    if threshold is None:
        return facts
    bound = inst.epsilon * inst.range_reward ** 2
    values = _check_policies(inst, evidence, threshold)
    low = next((v for v in values if v <= bound), None)
    require(low is None, "sq-safe-bound", f"a policy of regret >= L needs only {num(low) if low is not None else ''} "
                                          f"<= epsilon range R^2 = {num(bound)}")
    facts["policies"] = len(values)
    return facts


def check_threshold(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """``ε*_MSE(D) = v``: the least listed value is ``v range R²`` (``"inf"``: no policy has regret ``≥ L``)."""
    threshold, facts = _read(inst, instance, evidence, verdict)
    if threshold is None:
        require(inst.epsilon is None, "degenerate", "every policy has the same return: the critical error is inf")
        return facts
    values = _check_policies(inst, evidence, threshold)
    if inst.epsilon is None:
        require(not values, "sq-threshold", "a policy has regret >= L, so the critical error is finite")
    else:
        require(bool(values), "sq-threshold", "no policy has regret >= L: the critical error is inf")
        least = min(values)
        require(least == inst.epsilon * inst.range_reward ** 2, "sq-threshold",
                f"the least E_D(R^-R)^2 is {num(least)}, not epsilon range R^2 = "
                f"{num(inst.epsilon * inst.range_reward ** 2)}")
    facts["policies"] = len(values)
    return facts
