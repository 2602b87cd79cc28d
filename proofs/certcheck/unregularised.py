"""λ = 0 claims: ``safe``, ``unsafe``, ``threshold``, ``safest`` (docs/certificate-format.md §3–§3.4,
§3.7, §3.8), and the basis every λ = 0 claim shares: J*, J^min, thr, duplicates, occupancy bounds."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .families import check_tree, superharmonic_bounds
from .instance import Instance
from .reading import MAX_TREE_NODES, keys_within, num, obj, rational, require

EVIDENCE_KEYS = {"optimal_policy", "pessimal_policy", "witness", "tree", "cover", "occupancy", "duplicates"}
TREE_VERDICTS = ("safe", "threshold", "safest", "interval")


@dataclass(frozen=True, slots=True)
class Basis:
    """What the shared evidence establishes for a λ = 0 claim."""
    threshold: Fraction | None   # thr = J* − L range J; None when range J = 0 (degenerate)
    covered: tuple               # per state, the actions covered by a duplicate (§3.8)
    horizon: tuple               # per state, the occupancy bound H(s) (§3.7)


def base_facts(inst: Instance, verdict: str) -> dict:
    """What the claim is about, for the report line: model name, eps (or eps*), L."""
    return {"verdict": verdict, "states": inst.n, "actions": inst.m, "model": inst.name,
            "epsilon": "inf" if inst.epsilon is None else _text(inst.epsilon), "regret_bound": _text(inst.regret_bound)}


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def read_basis(inst: Instance, evidence: dict, verdict: str) -> tuple[Basis, dict]:
    """Rules ``evidence``, ``duplicate-actions``, ``occupancy-*``, the presence of ``cover``,
    ``optimal-policy`` and ``pessimal-policy``, in this order; and the claim's facts."""
    keys_within(evidence, EVIDENCE_KEYS, "evidence", "evidence")
    require("duplicates" not in evidence or verdict in TREE_VERDICTS, "duplicate-actions",
            "only certificates with a tree carry duplicate actions")
    covered = check_duplicates(inst, evidence.get("duplicates"))
    require("occupancy" not in evidence or verdict in TREE_VERDICTS, "occupancy-states",
            "only certificates with a tree carry occupancy bounds")
    horizon = [1 / (1 - inst.gamma)] * inst.n
    if evidence.get("occupancy") is not None:
        horizon = superharmonic_bounds(inst, evidence["occupancy"], [None] * inst.n, horizon, "occupancy-states",
                                       "occupancy-bound", "evidence.occupancy")
    require(("cover" in evidence) == (verdict == "safest" and inst.epsilon is not None), "cover-weights",
            "a finite safest claim needs a cover, and only it")
    j_star, j_min = check_return_bounds(inst, evidence)
    facts = base_facts(inst, verdict)
    if any(covered):
        facts["duplicate_actions"] = sum(len(c) for c in covered)
    threshold = None if j_star == j_min else j_star - inst.regret_bound * (j_star - j_min)
    return Basis(threshold, tuple(covered), tuple(horizon)), facts


def check_return_bounds(inst: Instance, evidence: dict) -> tuple[Fraction, Fraction]:
    """Rules ``optimal-policy``, ``pessimal-policy``: pin J* and J^min."""
    best = inst.policy(evidence.get("optimal_policy"), "optimal-policy", "evidence.optimal_policy")
    adv, values = inst.advantages(best, inst.reward)
    bad = next((x for x, v in enumerate(adv) if v > 0), None)
    require(bad is None, "optimal-policy", f"positive advantage at {inst.pair(bad)}")
    j_star = inst.ret(values)
    worst = inst.policy(evidence.get("pessimal_policy"), "pessimal-policy", "evidence.pessimal_policy")
    adv, values = inst.advantages(worst, inst.reward)
    bad = next((x for x, v in enumerate(adv) if v < 0), None)
    require(bad is None, "pessimal-policy", f"negative advantage at {inst.pair(bad)}")
    return j_star, inst.ret(values)


def check_duplicates(inst: Instance, table) -> list[set]:
    """Rule ``duplicate-actions`` (§3.8): ``table[s][b] = a`` covers ``b`` by its exact duplicate ``a``
    (equal transition row, reward and data weight); returns the covered action names per state."""
    covered = [set() for _ in range(inst.n)]
    if table is None:
        return covered
    table = obj(table, "duplicate-actions", "evidence.duplicates")
    keys_within(table, inst.s_index, "duplicate-actions", "evidence.duplicates")
    m = inst.m
    for state, row in table.items():
        where = f"evidence.duplicates.{state}"
        row = obj(row, "duplicate-actions", where)
        s = inst.s_index[state]
        enabled = inst.enabled_actions(s)
        for b, a in row.items():
            require(b in enabled and isinstance(a, str) and a in enabled, "duplicate-actions",
                    f"{where}.{b}: both actions must be enabled actions of {state}")
            require(a != b, "duplicate-actions", f"{where}.{b}: an action cannot cover itself")
            require(a not in row, "duplicate-actions", f"{where}.{b}: {a} is itself covered (no chains)")
            xa, xb = s * m + inst.a_index[a], s * m + inst.a_index[b]
            require(sorted(inst.succ[xa]) == sorted(inst.succ[xb]), "duplicate-actions",
                    f"{where}.{b}: the transition rows of {a} and {b} differ")
            require(inst.reward[xa] == inst.reward[xb], "duplicate-actions",
                    f"{where}.{b}: the rewards of {a} and {b} differ")
            require(inst.data[xa] == inst.data[xb], "duplicate-actions",
                    f"{where}.{b}: the data weights of {a} and {b} differ")
            covered[s].add(b)
    return covered


def check_witness(inst: Instance, witness, threshold: Fraction, bound: Fraction, exact: bool) -> None:
    """Rules ``witness-reward``, ``witness-error`` (error ``<= bound``, or ``== bound`` if ``exact``),
    ``witness-optimal``, ``witness-regret``."""
    witness = obj(witness, "witness-reward", "evidence.witness")
    keys_within(witness, {"reward", "policy"}, "witness-reward", "evidence.witness")
    reward_model = inst.pair_table(witness.get("reward"), "witness-reward", "evidence.witness.reward", complete=True)
    error = sum((d * abs(rh - r) for d, rh, r in zip(inst.data, reward_model, inst.reward) if d), Fraction(0))
    if exact:
        require(error == bound, "witness-error",
                f"E_D|R^-R| = {num(error)} differs from the claimed critical error times range R = {num(bound)}")
    else:
        require(error <= bound, "witness-error", f"E_D|R^-R| = {num(error)} exceeds epsilon * range R = {num(bound)}")
    policy = inst.policy(witness.get("policy"), "witness-optimal", "evidence.witness.policy")
    adv, _ = inst.advantages(policy, reward_model)
    bad = next((x for x, v in enumerate(adv) if v > 0), None)
    require(bad is None, "witness-optimal",
            f"the witness policy is not optimal for the reward model (advantage > 0 at {inst.pair(bad)})")
    j = inst.ret(inst.values(policy, inst.reward))
    require(j <= threshold, "witness-regret",
            f"the witness policy's return {num(j)} exceeds J* - L range J = {num(threshold)}")


def check_cover(inst: Instance, cover, threshold: Fraction, target: Fraction) -> int:
    """Rules ``cover-weights``, ``cover-witness``, ``cover-bound``: no D tolerates more error.

    Each witness (R̂_k, π_k) is an attack on every D with error D·|R̂_k − R|, so
    ε*(D)·range R ≤ Σ_k w_k D·|R̂_k − R| ≤ max_x Σ_k w_k |R̂_k(x) − R(x)| ≤ target."""
    cover = obj(cover, "cover-weights", "evidence.cover")
    require(set(cover) == {"weights", "witnesses"}, "cover-weights", "a cover has exactly weights and witnesses")
    weights, witnesses = cover["weights"], cover["witnesses"]
    require(isinstance(weights, list) and isinstance(witnesses, list) and weights
            and len(weights) == len(witnesses), "cover-weights", "weights and witnesses must be equal-length lists")
    require(len(weights) <= MAX_TREE_NODES, "cover-weights", "too many cover witnesses")
    w = [rational(v, "cover-weights", f"cover.weights[{i}]") for i, v in enumerate(weights)]
    require(all(v >= 0 for v in w) and sum(w) == 1, "cover-weights", "weights must be >= 0 and sum to 1")
    combined = [Fraction(0)] * (inst.n * inst.m)
    for k, (weight, item) in enumerate(zip(w, witnesses)):
        item = obj(item, "cover-witness", f"cover.witnesses[{k}]")
        require(set(item) == {"reward", "policy"}, "cover-witness", "a cover witness has exactly reward and policy")
        reward_model = inst.pair_table(item["reward"], "cover-witness", f"cover.witnesses[{k}].reward", complete=True)
        policy = inst.policy(item["policy"], "cover-witness", f"cover.witnesses[{k}].policy")
        adv, _ = inst.advantages(policy, reward_model)
        require(all(v <= 0 for v in adv), "cover-witness", f"witness {k}: the policy is not optimal for R^")
        require(inst.ret(inst.values(policy, inst.reward)) <= threshold, "cover-witness",
                f"witness {k}: the policy's regret is below L")
        if weight:
            for x in range(len(combined)):
                combined[x] += weight * abs(reward_model[x] - inst.reward[x])
    worst = max(combined)
    require(worst <= target, "cover-bound",
            f"the weighted witnesses allow error {num(worst)} > {num(target)} somewhere")
    return len(w)


# -- the claims: (inst, instance, evidence, verdict) -> facts -----------------------------------

def check_unsafe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """§3.1: a witness within error ε whose optimal policy has regret >= L."""
    basis, facts = read_basis(inst, evidence, verdict)
    require(basis.threshold is not None, "degenerate", "every policy has the same return, so none has regret >= L")
    check_witness(inst, evidence.get("witness"), basis.threshold, inst.epsilon * inst.range_reward, False)
    return facts


def check_safe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """§3.2: a tree whose every leaf has regret < L or error > ε range R."""
    basis, facts = read_basis(inst, evidence, verdict)
    if basis.threshold is not None:      # else every policy has regret 0 < L: safe for every epsilon
        facts.update(check_tree(inst, evidence.get("tree"), basis, inst.epsilon * inst.range_reward, True))
    return facts


def check_threshold(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """§3.3 (and §3.4 for ``safest``): ε*(D) = v, by a witness at error v and a tree (v finite), or a
    tree of regret leaves only (v = inf)."""
    basis, facts = read_basis(inst, evidence, verdict)
    if basis.threshold is None:
        require(inst.epsilon is None, "degenerate", "every policy has the same return: the critical error is inf")
        return facts
    if inst.epsilon is None:
        require("witness" not in evidence, "witness-error", "an infinite critical error has no witness")
        facts.update(check_tree(inst, evidence.get("tree"), basis, None, False))
        return facts
    target = inst.epsilon * inst.range_reward
    check_witness(inst, evidence.get("witness"), basis.threshold, target, True)
    facts.update(check_tree(inst, evidence.get("tree"), basis, target, False))
    if verdict == "safest":
        facts["cover"] = check_cover(inst, evidence.get("cover"), basis.threshold, target)
    return facts
