"""Heavy-tailed error under a KL penalty (docs/certificate-format.md §9): the instance of a
``heavy-tails`` certificate and the evidence's sections (soft optimum, brackets, the Donsker-Varadhan
ceiling, ``P_t``, the conditional mean).  Only imported for such a certificate; the claims and the
verdicts are in ``heavy_tails_claims``."""

from __future__ import annotations

from fractions import Fraction

from .reading import (MAX_PAIRS, MAX_STATES, MODEL_FORMAT, Reject, exact_keys, keys_within, name_list, num, obj,
                      rational, require)
from .tilts import argmax_kl, construction_kl, largest_gain, log_moment, make_context, tilt

MAX_OUTPUTS = 100_000
OPTIONS = {"beta", "kl_budget", "construct", "target", "condition"}


# -- the instance ---------------------------------------------------------------------------------

def read_options(instance: dict) -> dict:
    """Rule ``ht-instance``: ``beta`` and the optional keys."""
    beta = rational(instance.get("beta"), "ht-instance", "instance.beta")
    require(beta > 0, "ht-instance", "beta must be > 0")
    options = {"beta": beta, "kl_budget": None, "construct": None, "target": None, "condition": None}
    if "kl_budget" in instance:
        options["kl_budget"] = rational(instance["kl_budget"], "ht-instance", "instance.kl_budget")
        require(options["kl_budget"] > 0, "ht-instance", "the KL budget must be > 0")
    if "construct" in instance:
        pair = obj(instance["construct"], "ht-instance", "instance.construct")
        exact_keys(pair, {"t", "c"}, "ht-instance", "instance.construct")
        t, c = (rational(pair[k], "ht-instance", f"instance.construct.{k}") for k in ("t", "c"))
        require(0 < c < t, "ht-instance", "construct needs 0 < c < t")
        options["construct"] = (t, c)
    if "target" in instance:
        require(options["construct"] is not None, "ht-instance", "target goes with construct")
        pair = obj(instance["target"], "ht-instance", "instance.target")
        exact_keys(pair, {"m", "epsilon"}, "ht-instance", "instance.target")
        m, eps = (rational(pair[k], "ht-instance", f"instance.target.{k}") for k in ("m", "epsilon"))
        require(eps > 0, "ht-instance", "the target's epsilon must be > 0")
        options["target"] = (m, eps)
    if "condition" in instance:
        options["condition"] = rational(instance["condition"], "ht-instance", "instance.condition")
    return options


def _pair_rows(table, states, actions, where: str) -> list[list[Fraction]]:
    table = obj(table, "ht-instance", where)
    require(set(table) == set(states), "ht-instance", f"{where} must give every state")
    rows = []
    for s in states:
        row = obj(table[s], "ht-instance", f"{where}.{s}")
        require(len(row) == len(actions) and set(row) == set(actions), "ht-instance",
                f"{where}.{s} must give every action")
        rows.append([rational(row[a], "ht-instance", f"{where}.{s}.{a}") for a in actions])
    return rows


def read_bandit(instance: dict) -> list:
    """The contexts (states with ``μ0 > 0``) of ``instance.model``, ``estimate`` and ``reference``."""
    keys_within(instance, {"model", "estimate", "reference"} | OPTIONS, "ht-instance", "instance")
    model = obj(instance.get("model"), "ht-instance", "instance.model")
    require(model.get("format") == MODEL_FORMAT, "ht-instance", f"instance.model.format must be {MODEL_FORMAT!r}")
    keys_within(model, {"format", "name", "description", "gamma", "states", "actions", "initial", "reward"},
                "ht-instance", "instance.model (a bandit: no transitions, no enabled)")
    require(all(isinstance(model.get(k, ""), str) for k in ("name", "description")), "ht-instance",
            "the model's name and description must be strings")
    require(rational(model.get("gamma"), "ht-instance", "gamma") == 0, "ht-instance", "a bandit has gamma = 0")
    states = name_list(model.get("states"), "ht-instance", "states", MAX_STATES)
    actions = name_list(model.get("actions"), "ht-instance", "actions", MAX_OUTPUTS)
    require(len(states) * len(actions) <= MAX_PAIRS, "ht-instance", f"more than {MAX_PAIRS} pairs")
    initial = obj(model.get("initial"), "ht-instance", "initial")
    keys_within(initial, set(states), "ht-instance", "initial")
    mu0 = {s: rational(p, "ht-instance", f"initial.{s}") for s, p in initial.items()}
    require(all(p >= 0 for p in mu0.values()) and sum(mu0.values()) == 1, "ht-instance",
            "initial must be a probability distribution")
    true = _pair_rows(model.get("reward"), states, actions, "reward")
    proxy = _pair_rows(instance.get("estimate"), states, actions, "instance.estimate")
    reference = _pair_rows(instance.get("reference"), states, actions, "instance.reference")
    contexts = []
    for s, v, u, q in zip(states, true, proxy, reference):
        require(all(p > 0 for p in q) and sum(q) == 1, "ht-instance",
                f"instance.reference.{s} must be positive and sum to 1")
        if mu0.get(s, 0):
            contexts.append(make_context(mu0[s], v, u, q))
    return contexts


# -- enclosures ----------------------------------------------------------------------------------

def enclosure(value, rule: str, where: str) -> tuple[Fraction, Fraction]:
    table = obj(value, rule, where)
    exact_keys(table, {"lower", "upper"}, rule, where)
    lower, upper = rational(table["lower"], rule, f"{where}.lower"), rational(table["upper"], rule, f"{where}.upper")
    require(lower <= upper, rule, f"{where} is empty")
    return lower, upper


def contains(claimed: tuple, own: tuple, rule: str, where: str) -> None:
    if not (claimed[0] <= own[0] and own[1] <= claimed[1]):
        raise Reject(rule, f"{where} = [{num(claimed[0])}, {num(claimed[1])}] does not contain the checker's "
                           f"[{num(own[0])}, {num(own[1])}]")


def checked_tilt(contexts, which: str, lam: Fraction, table: dict, keys: dict, rule: str, where: str) -> dict:
    """The claimed enclosures ``table[key]`` of the tilt at ``λ`` (``keys``: certificate key -> the
    tilt's quantity), each verified to contain the checker's own."""
    own = tilt(contexts, which, lam)
    out = {}
    for key, quantity in keys.items():
        claimed = enclosure(table.get(key), rule, f"{where}.{key}")
        contains(claimed, own[quantity], rule, f"{where}.{key}")
        out[key] = claimed
    return out


def check_soft_optimum(contexts, beta: Fraction, value, where: str) -> dict:
    """Rule ``ht-soft-optimum``."""
    table = obj(value, "ht-soft-optimum", where)
    exact_keys(table, {"true_gain", "proxy_gain", "kl"}, "ht-soft-optimum", where)
    keys = {"true_gain": "true_gain", "proxy_gain": "proxy_gain", "kl": "kl"}
    return checked_tilt(contexts, "proxy", 1 / beta, table, keys, "ht-soft-optimum", where)


def check_bracket(contexts, which: str, budget_low: Fraction, budget_high: Fraction, value, where: str) -> dict:
    """Rule ``ht-bracket`` (§9.3): ``{"best", "saturated", "largest"}``."""
    rule = "ht-bracket"
    table = obj(value, rule, where)
    gain = "true_gain" if which == "true" else "proxy_gain"
    largest = largest_gain(contexts, which)
    if "saturated" in table:
        exact_keys(table, {"saturated", "best"}, rule, where)
        saturated = obj(table["saturated"], rule, f"{where}.saturated")
        exact_keys(saturated, {"limit_kl"}, rule, f"{where}.saturated")
        limit = enclosure(saturated["limit_kl"], rule, f"{where}.saturated.limit_kl")
        contains(limit, argmax_kl(contexts, which), rule, f"{where}.saturated.limit_kl")
        require(limit[1] <= budget_low, rule, f"{where}: the argmax's KL may exceed the budget {num(budget_low)}")
        best = enclosure(table["best"], rule, f"{where}.best")
        require(best[0] <= largest <= best[1], rule, f"{where}.best misses the largest gain {num(largest)}")
        return {"best": best, "saturated": True, "largest": largest}
    finite = table.get("lambda_high") != "inf"
    exact_keys(table, {"lambda_low", "lambda_high", "kl_low", "gain_low", "best"}
               | ({"kl_high", "gain_high"} if finite else set()), rule, where)
    lam_low = rational(table["lambda_low"], rule, f"{where}.lambda_low")
    require(lam_low >= 0, rule, f"{where}.lambda_low must be >= 0")
    low = checked_tilt(contexts, which, lam_low, table, {"kl_low": "kl", "gain_low": gain}, rule, where)
    require(low["kl_low"][1] <= budget_low, rule, f"{where}: KL(lambda_low) may exceed the budget {num(budget_low)}")
    best = enclosure(table["best"], rule, f"{where}.best")
    require(best[0] <= low["gain_low"][0], rule, f"{where}.best starts above the gain at lambda_low")
    if finite:
        lam_high = rational(table["lambda_high"], rule, f"{where}.lambda_high")
        require(lam_high > lam_low, rule, f"{where}: lambda_high must exceed lambda_low")
        high = checked_tilt(contexts, which, lam_high, table, {"kl_high": "kl", "gain_high": gain}, rule, where)
        require(high["kl_high"][0] > budget_high, rule,
                f"{where}: KL(lambda_high) is not shown above the budget {num(budget_high)}")
        require(best[1] >= high["gain_high"][1], rule, f"{where}.best ends below the gain at lambda_high")
    else:
        require(best[1] >= largest, rule, f"{where}.best ends below the largest gain {num(largest)}")
    return {"best": best, "saturated": False, "largest": largest}


def check_ceiling(contexts, budget: Fraction, value, where: str) -> Fraction:
    """Rule ``ht-donsker-varadhan``: ``(budget + ψ(λ))/λ ≤ ceiling``; returns the ceiling."""
    table = obj(value, "ht-donsker-varadhan", where)
    exact_keys(table, {"lambda", "ceiling"}, "ht-donsker-varadhan", where)
    lam = rational(table["lambda"], "ht-donsker-varadhan", f"{where}.lambda")
    require(lam > 0, "ht-donsker-varadhan", f"{where}.lambda must be > 0")
    ceiling = rational(table["ceiling"], "ht-donsker-varadhan", f"{where}.ceiling")
    bound = (budget + log_moment(contexts, lam)[1]) / lam
    require(bound <= ceiling, "ht-donsker-varadhan",
            f"{where}: (d + psi(lambda))/lambda may be {num(bound)} > {num(ceiling)}")
    return ceiling


def check_budget(contexts, budget: Fraction, value, where: str) -> None:
    table = obj(value, "ht-bracket", where)
    exact_keys(table, {"proxy", "true", "donsker_varadhan"}, "ht-bracket", where)
    for which in ("proxy", "true"):
        check_bracket(contexts, which, budget, budget, table[which], f"{where}.{which}")
    check_ceiling(contexts, budget, table["donsker_varadhan"], f"{where}.donsker_varadhan")


def check_construction(contexts, t: Fraction, c: Fraction, value, where: str) -> dict | None:
    """Rule ``ht-construction``: ``P_t``'s exact gains and its KL."""
    a = c / t
    parts, gains = [], {"proxy": Fraction(0), "true": Fraction(0)}
    for ctx in contexts:
        inside = [u - v >= t for u, v in zip(ctx.proxy, ctx.true)]
        m = sum((q for q, i in zip(ctx.reference, inside) if i), Fraction(0))
        if m == 0 or m == 1:
            continue
        parts.append((ctx.weight, m))
        for which in gains:
            column = ctx.column(which)
            in_sum = sum((q * x for q, x, i in zip(ctx.reference, column, inside) if i), Fraction(0))
            out_sum = ctx.means[which] - in_sum
            gains[which] += ctx.weight * (a * in_sum / m + (1 - a) * out_sum / (1 - m) - ctx.means[which])
    if not parts:
        require(value is None, "ht-construction", f"{where} must be null: no context has 0 < Q(X >= t) < 1")
        return None
    table = obj(value, "ht-construction", where)
    exact_keys(table, {"proxy_gain", "true_gain", "kl"}, "ht-construction", where)
    for which in gains:
        claimed = rational(table[f"{which}_gain"], "ht-construction", f"{where}.{which}_gain")
        require(claimed == gains[which], "ht-construction",
                f"{where}.{which}_gain is {num(claimed)}, not {num(gains[which])}")
    kl = enclosure(table["kl"], "ht-construction", f"{where}.kl")
    contains(kl, construction_kl(parts, a), "ht-construction", f"{where}.kl")
    return {"proxy_gain": gains["proxy"], "true_gain": gains["true"], "kl": kl}


def check_condition(contexts, threshold: Fraction, value, where: str) -> None:
    """Rule ``ht-condition``: ``E[V | U ≥ T]`` exactly (null for an event of probability 0)."""
    table = obj(value, "ht-condition", where)
    exact_keys(table, {"true_mean"}, "ht-condition", where)
    mass = total = Fraction(0)
    for ctx in contexts:
        for q, u, v in zip(ctx.reference, ctx.proxy, ctx.true):
            if u >= threshold:
                mass += ctx.weight * q
                total += ctx.weight * q * v
    if not mass:
        require(table["true_mean"] is None, "ht-condition", f"{where}.true_mean must be null: U >= T has mass 0")
        return
    claimed = rational(table["true_mean"], "ht-condition", f"{where}.true_mean")
    require(claimed == total / mass, "ht-condition", f"{where}.true_mean is {num(claimed)}, not {num(total / mass)}")
