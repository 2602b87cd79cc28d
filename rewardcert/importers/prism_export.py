"""Write a model as a PRISM MDP (``.nm``), for cross-checking ``J*`` in Storm or PRISM.  Pure text.

PRISM has no discount factor.  Two programs can be written:

* ``to_prism(mdp)``: the MDP itself, ``τ`` unchanged, with the reward structure
  ``"reward"`` (``R(s, a)`` as state-action rewards).  ``γ`` and ``μ0`` are recorded
  in a comment; the ``init`` block is the support of ``μ0``.
* ``to_prism(mdp, stop_state=True)``: the **stop-state transform** (docs/import.md).  Every
  transition probability is multiplied by ``γ``, and ``1 − γ`` goes to an absorbing
  state labelled ``"stop"``.  The undiscounted total reward until ``"stop"`` is
  then the discounted return, so ``Rmax=? [F "stop"]`` in state ``s`` is ``V*(s)``, and
  ``Σ_s μ0(s) V*(s)`` is ``J*``.

**States.** When every state name has the form ``x=1,y=true`` with the same
variables in each (the names ``rewardcert import prism`` gives), those
variables are declared again (integers with their observed range, booleans), so
import → export → import gives back the identical model. Otherwise one
variable ``s`` numbers the states in model order, and a comment lists the names.

**Actions.** Each action becomes the command label of the same name. A name that
is not a PRISM identifier is replaced by ``act_<index>``, and a comment gives
the mapping. Disabled pairs get no command.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import format_rational

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"A", "bool", "C", "const", "ctmc", "ctmdp", "double", "dtmc", "E", "endinit", "endinvariant",
             "endmodule", "endrewards", "endsystem", "F", "false", "formula", "filter", "func", "G", "global",
             "I", "init", "invariant", "label", "max", "mdp", "min", "module", "nondeterministic", "P",
             "Pmin", "Pmax", "probabilistic", "prob", "pta", "R", "rate", "rewards", "Rmin", "Rmax", "S",
             "stochastic", "system", "true", "U", "W", "X", "int", "clock", "pomdp", "observables",
             "endobservables", "probabilistic", "rewardcert_stop"}


def _identifier(name: str) -> bool:
    return bool(_IDENTIFIER.fullmatch(name)) and name not in _KEYWORDS


def valuation_variables(mdp: MDP):
    """``[(variable, kind, values per state)]`` if every state name is ``v=val,...`` with the
    same variables (ints or booleans) and the valuations are distinct; else ``None``."""
    parsed = []
    for name in mdp.states:
        parts = name.split(",")
        row = []
        for part in parts:
            var, sep, value = part.partition("=")
            if not sep or not _identifier(var):
                return None
            row.append((var, value))
        parsed.append(row)
    variables = [v for v, _ in parsed[0]]
    if len(set(variables)) != len(variables) or any([v for v, _ in row] != variables for row in parsed):
        return None
    columns = []
    for k, var in enumerate(variables):
        values = [row[k][1] for row in parsed]
        if all(v in ("true", "false") for v in values):
            columns.append((var, "bool", values))
        elif all(re.fullmatch(r"-?\d+", v) for v in values):
            columns.append((var, "int", [int(v) for v in values]))
        else:
            return None
    if len({tuple(row) for row in map(tuple, parsed)}) != len(parsed):
        return None
    return columns


def _rational(value: Fraction) -> str:
    text = format_rational(value)
    return f"({text})" if "/" in text or text.startswith("-") else text


def to_prism(mdp: MDP, *, stop_state: bool = False) -> str:
    """The PRISM text (module docstring)."""
    n, m = mdp.n_states, mdp.n_actions
    gamma = mdp.gamma
    labels = []
    renamed = []
    for j, a in enumerate(mdp.actions):
        if _identifier(a):
            labels.append(a)
        else:
            labels.append(f"act_{j}")
            renamed.append(f"//   action {j}: {a!r} -> [{labels[-1]}]")
    if len(set(labels)) != len(labels):          # a renamed label hit an existing one
        labels = [f"act_{j}" for j in range(m)]
        renamed = [f"//   action {j}: {a!r} -> [act_{j}]" for j, a in enumerate(mdp.actions)]
    columns = valuation_variables(mdp)
    lines = [f"// Exported by rewardcert from {mdp.name or 'a rewardcert/mdp-1 model'}.",
             f"// gamma = {format_rational(gamma)} (PRISM has no discount factor: see docs/import.md).",
             "// mu0 = " + ", ".join(f"{mdp.states[s]}: {format_rational(p)}"
                                     for s, p in enumerate(mdp.initial) if p)]
    if stop_state:
        lines.append('// Stop-state transform: probabilities scaled by gamma, 1 - gamma to "stop"; '
                     'Rmax=? [F "stop"] is V*.')
    lines += renamed
    lines += ["", "mdp", ""]

    if columns is None:
        lines.append("// states: " + ", ".join(f"s={i} is {name}" for i, name in enumerate(mdp.states)))

        def guard(s: int) -> str:
            return f"s={s}"

        def update(t: int) -> str:
            return f"(s'={t})"
        stop_guard, stop_update = f"s={n}", f"(s'={n})"
        declarations = [f"  s : [0..{n if stop_state else n - 1}];"]
    else:
        def guard(s: int) -> str:
            return " & ".join(f"{var}={'true' if vals[s] == 'true' else 'false'}" if kind == "bool"
                              else f"{var}={vals[s]}" for var, kind, vals in columns)

        def update(t: int) -> str:
            return " & ".join(f"({var}'={vals[t]})" for var, kind, vals in columns) + \
                (" & (rewardcert_stop'=false)" if stop_state else "")
        declarations = []
        for var, kind, vals in columns:
            if kind == "bool":
                declarations.append(f"  {var} : bool;")
            else:
                declarations.append(f"  {var} : [{min(vals)}..{max(vals)}];")
        if stop_state:
            declarations.append("  rewardcert_stop : bool;")
            original_guard = guard
            guard = lambda s: f"{original_guard(s)} & !rewardcert_stop"  # noqa: E731
            stop_guard, stop_update = "rewardcert_stop", "(rewardcert_stop'=true)"
    support = [s for s, p in enumerate(mdp.initial) if p]
    lines += ["module rewardcert_model"] + declarations + [""]
    for s in range(n):
        for a in mdp.enabled_actions(s):
            x = s * m + a
            if gamma == 0 and not stop_state:
                successors = mdp.successors(x) if mdp.transitions is not None else ((s, Fraction(1)),)
            else:
                successors = mdp.successors(x)
            if stop_state:
                parts = [f"{_rational(gamma * p)}:{update(t)}" for t, p in successors if gamma * p]
                if gamma < 1:
                    parts.append(f"{_rational(1 - gamma)}:{stop_update}")
            else:
                parts = [f"{_rational(p)}:{update(t)}" for t, p in successors]
            lines.append(f"  [{labels[a]}] {guard(s)} -> " + " + ".join(parts) + ";")
    if stop_state:
        lines.append(f"  [] {stop_guard} -> 1:{stop_update};")
    lines += ["endmodule", ""]
    init = " | ".join(f"({guard(s)})" for s in support)
    lines += ["init", f"  {init}", "endinit", ""]
    lines.append('rewards "reward"')
    for s in range(n):
        for a in mdp.enabled_actions(s):
            r = mdp.reward[s * m + a]
            if r:
                lines.append(f"  [{labels[a]}] {guard(s)} : {_rational(r)};")
    lines += ["endrewards", ""]
    if stop_state:
        lines.append(f'label "stop" = {stop_guard};')
    return "\n".join(lines) + "\n"
