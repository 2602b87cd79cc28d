"""PRISM and JANI MDPs as exact rewardcert models, through stormpy.  The only module that imports stormpy.

stormpy is an optional extra (``pip install 'rewardcert[prism]'``).  Without it every entry
point raises ``BackendUnavailable`` with that hint.  Everything is exact:

* the model is built by ``stormpy.build_model[stormpy.Rational]`` (stormpy 2.0), with
  constants given as ``stormpy.Rational`` from strings or integers, never floats;
* every probability and reward is read as Storm's exact rational (its ``p/q`` text)
  and parsed by the toolkit's own exact parser.

Rules (docs/import.md):

* states are Storm's reachable states, named by their integer and boolean
  variables in name order (``carrying=false,pos=0``), and sorted by that
  valuation so the order does not depend on Storm's exploration order;
* actions are the command labels; an unlabelled command (and a deadlock self-loop
  Storm adds) is ``tau``; two choices of one state with the same label are ``go``,
  ``go#2``, ...; a state enables only the actions of its choices (``[enabled]``);
* ``R(s, a)`` = the state reward of ``s`` plus the state-action reward of the
  choice, from the named reward structure; transition rewards are refused;
* ``μ0`` is uniform over the initial states (one state, in most models);
* ``γ`` is the user's: PRISM's own properties are undiscounted.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.errors import (
    BackendUnavailable,
    ModelError,
    RewardcertError,
)
from rewardcert.symbolic.core.model import MAX_PAIRS, MAX_STATES, MDP
from rewardcert.symbolic.core.numbers import parse_rational

INSTALL_HINT = "pip install 'rewardcert[prism]'"
UNLABELLED = "tau"


def load_stormpy():
    try:
        import stormpy
    except ImportError as exc:
        raise BackendUnavailable(f"stormpy is not installed ({exc.msg}); {INSTALL_HINT}") from None
    if not hasattr(stormpy, "build_model") or not hasattr(stormpy.build_model, "__getitem__"):
        raise BackendUnavailable("this stormpy has no build_model[stormpy.Rational] (stormpy >= 2.0 is needed); "
                                 + INSTALL_HINT)
    return stormpy


def _exact(value, where: str) -> Fraction:
    """Storm's exact rational (``p/q`` text) as a Fraction; anything else is refused."""
    text = str(value)
    try:
        return parse_rational(text)
    except RewardcertError:
        raise ModelError(f"Storm returned {text!r}, which is not an exact rational", entry=where) from None


def parse_constants(text: str | None) -> list[tuple[str, str]]:
    """``K=V,K2=V2`` as pairs (values stay text until Storm's types are known)."""
    if not text:
        return []
    out = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ModelError(f"expected K=V, got {item!r}", entry="--constants")
        out.append((key.strip(), value.strip()))
    return out


def _program(stormpy, path: str, constants: Sequence[tuple[str, str]]):
    if not os.path.exists(path):
        raise ModelError("cannot read file: No such file or directory", file=path)
    try:
        if path.lower().endswith(".jani"):
            program, _ = stormpy.parse_jani_model(path)
        else:
            program = stormpy.parse_prism_program(path)
    except Exception as exc:  # stormpy raises its own RuntimeError subclasses for syntax errors
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"Storm cannot parse the model: {message}", file=path) from None
    manager = program.expression_manager
    definitions = {}
    for name, raw in constants:
        if not program.has_constant(name):
            raise ModelError(f"the model has no constant {name!r}", file=path, entry="--constants")
        constant = program.get_constant(name)
        kind = str(constant.type)
        if kind == "bool":
            if raw not in ("true", "false"):
                raise ModelError(f"{name} is boolean: give true or false, not {raw!r}", entry="--constants")
            expression = manager.boolean(raw == "true")
        else:
            try:
                value = parse_rational(raw, what=f"constant {name}")
            except RewardcertError as exc:
                raise ModelError(exc.message, entry="--constants") from None
            if kind == "int":
                if value.denominator != 1:
                    raise ModelError(f"{name} is an integer constant, not {raw!r}", entry="--constants")
                expression = manager.integer(int(value))
            else:
                expression = manager.rational(stormpy.Rational(f"{value.numerator}/{value.denominator}"))
        definitions[constant.expression_variable] = expression
    if definitions:
        program = program.define_undefined_constants(definitions)
    if program.has_undefined_constants:
        missing = ", ".join(c.name for c in program.get_undefined_constants())
        raise ModelError(f"undefined constants {missing}: pass --constants K=V,...", file=path,
                         entry="--constants")
    if str(program.model_type).split(".")[-1] != "MDP":
        raise ModelError(f"this is a {program.model_type}; only MDPs are imported", file=path)
    return program


def _state_variables(valuations) -> list:
    """The integer and boolean variables, sorted by name.  Rational-typed ones (JANI's
    transient reward variables) are not part of a state."""
    return sorted((v for v in valuations.get_all_variables() if v.has_integer_type() or v.has_boolean_type()),
                  key=lambda v: v.name)


def _state_name(valuations, state: int, variables=None) -> tuple[tuple, str]:
    """(sort key, name) from the state's valuation, e.g. ``carrying=false,pos=0``."""
    variables = _state_variables(valuations) if variables is None else variables
    key, parts = [], []
    for v in variables:
        if v.has_boolean_type():
            value = bool(valuations.get_boolean_value(state, v))
            key.append((0, int(value)))
            parts.append(f"{v.name}={'true' if value else 'false'}")
        else:
            value = int(valuations.get_int64_value(state, v))
            key.append((1, value))
            parts.append(f"{v.name}={value}")
    return tuple(key), ",".join(parts)


def import_prism(path: str, gamma: Fraction, *, reward: str | None = None,
                 constants: Sequence[tuple[str, str]] = (), name: str | None = None) -> tuple[MDP, list[str]]:
    """The exact MDP of a PRISM/JANI file and notes on what the import did."""
    stormpy = load_stormpy()
    program = _program(stormpy, path, constants)
    options = stormpy.BuilderOptions()
    options.set_build_state_valuations()
    options.set_build_choice_labels()
    options.set_build_all_reward_models()
    try:
        model = stormpy.build_model[stormpy.Rational](program, options=options)
    except Exception as exc:
        raise ModelError(f"Storm cannot build the model exactly: {exc}", file=path) from None
    rewards = sorted(model.reward_models)
    if reward is None:
        if len(rewards) != 1:
            raise ModelError(f"pass --reward NAME (reward structures: {', '.join(rewards) or 'none'})",
                             file=path, entry="--reward")
        reward = rewards[0]
    if reward not in model.reward_models:
        raise ModelError(f"no reward structure {reward!r} (there are: {', '.join(rewards) or 'none'})",
                         file=path, entry="--reward")
    structure = model.reward_models[reward]
    if structure.has_transition_rewards:
        raise ModelError(f"reward structure {reward!r} has transition rewards, which are not supported "
                         "(use state or state-action rewards)", file=path, entry="--reward")
    n = model.nr_states
    if n > MAX_STATES:
        raise ModelError(f"{n} states; at most {MAX_STATES} are supported", file=path)
    variables = _state_variables(model.state_valuations)
    keyed = [_state_name(model.state_valuations, s, variables) for s in range(n)]
    order = sorted(range(n), key=lambda s: keyed[s][0])
    position = {s: i for i, s in enumerate(order)}
    matrix = model.transition_matrix
    labelling = model.choice_labeling if model.has_choice_labeling() else None
    state_rewards = list(structure.state_rewards) if structure.has_state_rewards else None
    action_rewards = list(structure.state_action_rewards) if structure.has_state_action_rewards else None
    choices: list[list[tuple[str, Fraction, tuple]]] = [[] for _ in range(n)]
    for s in range(n):
        start = matrix.get_row_group_start(s)
        end = matrix.get_row_group_end(s)
        seen: dict[str, int] = {}
        for row in range(start, end):
            labels = sorted(labelling.get_labels_of_choice(row)) if labelling is not None else []
            label = "+".join(labels) if labels else UNLABELLED
            seen[label] = seen.get(label, 0) + 1
            action = label if seen[label] == 1 else f"{label}#{seen[label]}"
            where = f"state {keyed[s][1]}, action {action}"
            r = Fraction(0)
            if state_rewards is not None:
                r += _exact(state_rewards[s], where)
            if action_rewards is not None:
                r += _exact(action_rewards[row], where)
            successors = {}
            for entry in matrix.get_row(row):
                p = _exact(entry.value() if callable(entry.value) else entry.value, where)
                if p:
                    t = position[entry.column]
                    successors[t] = successors.get(t, Fraction(0)) + p
            choices[position[s]].append((action, r, tuple(sorted(successors.items()))))
    actions = sorted({a for row in choices for a, _, _ in row})
    if len(actions) * n > MAX_PAIRS:
        raise ModelError(f"{n} states x {len(actions)} actions is beyond the model limits", file=path)
    index = {a: j for j, a in enumerate(actions)}
    m = len(actions)
    reward_vec = [Fraction(0)] * (n * m)
    transitions: list = [None] * (n * m)
    enabled = []
    for i in range(n):
        present = []
        for action, r, succ in choices[i]:
            x = i * m + index[action]
            reward_vec[x] = r
            transitions[x] = succ
            present.append(index[action])
        enabled.append(tuple(sorted(present)))
        for a in range(m):
            if transitions[i * m + a] is None:
                transitions[i * m + a] = ((i, Fraction(1)),)
    initial_states = sorted(position[s] for s in model.initial_states)
    mu0 = [Fraction(0)] * n
    for s in initial_states:
        mu0[s] = Fraction(1, len(initial_states))
    states = tuple(keyed[s][1] for s in order)
    label = name or os.path.splitext(os.path.basename(path))[0]
    mdp = MDP(states, tuple(actions), gamma, tuple(mu0), tuple(reward_vec), tuple(transitions), label,
              tuple(enabled))
    notes = [f"built exactly by Storm (stormpy.build_model[stormpy.Rational]): {n} states, "
             f"{model.nr_choices} choices, {m} action labels",
             f"rewards from the reward structure {reward!r}"
             + (" (state rewards added to every action)" if state_rewards is not None else ""),
             f"mu0 uniform over {len(initial_states)} initial state(s)"]
    if mdp.has_disabled:
        notes.append(f"{sum(len(e) < m for e in enabled)} state(s) enable only some actions ([enabled] table)")
    return mdp, notes


def exact_optimal_values(prism_text: str, *, minimise: bool = False) -> dict[str, Fraction]:
    """Storm's exact ``Rmax=? [F "stop"]`` (or ``Rmin``) of a stop-state program, per state
    (keyed by the set of its ``variable=value`` strings).

    Used to cross-check ``J*`` (``rewardcert.importers.prism_export.to_prism(..., stop_state=True)``).
    """
    import tempfile
    stormpy = load_stormpy()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.nm")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(prism_text)
        program = stormpy.parse_prism_program(path)
        formula = f'R{{"reward"}}{"min" if minimise else "max"}=? [F "stop"]'
        properties = stormpy.parse_properties(formula, program)
        options = stormpy.BuilderOptions()
        options.set_build_state_valuations()
        options.set_build_all_reward_models()
        options.set_build_all_labels()
        model = stormpy.build_model[stormpy.Rational](program, options=options)
        result = stormpy.model_checking(model, properties[0], only_initial_states=False)
        values = {}
        for s in range(model.nr_states):
            _, text = _state_name(model.state_valuations, s)
            values[frozenset(text.split(","))] = _exact(result.get_value(s), f"state {text}")
        return values


def storm_optimal_return(mdp: MDP, *, minimise: bool = False) -> Fraction:
    """``J*`` (``J^min`` with ``minimise``) of ``mdp`` as Storm's exact engine computes it.

    The stop-state program of ``prism_export.to_prism`` with rewards shifted by
    ``−min R`` (Storm's reachability rewards must be non-negative; each path earns
    ``1/(1−γ)`` rewards in expectation, so the shift moves every value by
    ``min R/(1−γ)``), then ``Σ_s μ0(s) V(s)``."""
    from .prism_export import to_prism, valuation_variables
    low = mdp.min_reward
    shifted = mdp.with_reward([r - low for r in mdp.reward])
    values = exact_optimal_values(to_prism(shifted, stop_state=True), minimise=minimise)
    columns = valuation_variables(mdp)
    total = Fraction(0)
    for s, p in enumerate(mdp.initial):
        if not p:
            continue
        key = f"s={s}" if columns is None else f"{mdp.states[s]},rewardcert_stop=false"
        total += p * values[frozenset(key.split(","))]
    return total + low / (1 - mdp.gamma)
