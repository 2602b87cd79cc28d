"""Model and data files (``rewardcert/mdp-1``, ``rewardcert/data-1``) in TOML or JSON.

The format is specified in ``docs/model-format.md``.  Every problem is a
``RewardcertError`` naming the file, the table and the entry.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from .errors import ModelError, ResourceLimit, RewardcertError
from .model import (
    MAX_PAIRS,
    MAX_TRANSITION_ENTRIES,
    MDP,
    Vector,
    uniform_distribution,
    validate_distribution,
)
from .numbers import format_rational, parse_rational

MODEL_FORMAT = "rewardcert/mdp-1"
DATA_FORMAT = "rewardcert/data-1"
MAX_FILE_BYTES = 64 * 1024 * 1024

_MODEL_KEYS = {"format", "name", "description", "gamma", "states", "actions", "initial",
               "reward", "transitions", "data", "enabled"}
_DATA_KEYS = {"format", "name", "description", "data"}


@dataclass(frozen=True)
class LoadedModel:
    """A model file's MDP and, if the file carries a ``[data]`` table, its distribution."""

    mdp: MDP
    data: Vector | None
    path: str


STDIN = "-"
STDIN_NAME = "<stdin>"


BYTE_ORDER_MARK = "\ufeff"
"""Some editors start UTF-8 files with it; it is dropped (JSON's RFC 8259 allows ignoring it), where
tomllib would report "Invalid statement" at line 1, column 1."""


def read_document(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a TOML or JSON file (by extension; ``.json`` is JSON, anything else TOML).
    ``-`` reads standard input: JSON if it starts with ``{``, TOML otherwise."""
    path = os.fspath(path)
    if path == STDIN:
        return _read_stdin()
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror}", file=path) from None
    if size > MAX_FILE_BYTES:
        raise ResourceLimit(f"file has {size} bytes; at most {MAX_FILE_BYTES} are accepted", file=path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8").removeprefix(BYTE_ORDER_MARK)
    except UnicodeDecodeError as exc:
        raise ModelError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    if path.lower().endswith(".json"):
        return parse_json(text, file=path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"TOML syntax error: {exc}", file=path) from None
    except ValueError as exc:  # an integer literal beyond Python's digit limit
        raise ModelError(f"TOML number too long: {_digit_limit(exc)}", file=path) from None
    except RecursionError:
        raise ModelError("TOML nested too deeply", file=path) from None


def _read_stdin() -> dict[str, Any]:
    import sys
    raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ResourceLimit(f"more than {MAX_FILE_BYTES} bytes; at most {MAX_FILE_BYTES} are accepted",
                            file=STDIN_NAME)
    try:
        text = raw.decode("utf-8").removeprefix(BYTE_ORDER_MARK)
    except UnicodeDecodeError as exc:
        raise ModelError(f"not UTF-8 text (byte {exc.start})", file=STDIN_NAME) from None
    if text.lstrip().startswith("{"):
        return parse_json(text, file=STDIN_NAME)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"TOML syntax error: {exc}", file=STDIN_NAME) from None
    except ValueError as exc:
        raise ModelError(f"TOML number too long: {_digit_limit(exc)}", file=STDIN_NAME) from None
    except RecursionError:
        raise ModelError("TOML nested too deeply", file=STDIN_NAME) from None


def parse_json(text: str, *, file: str | None = None) -> dict[str, Any]:
    """Strict JSON: duplicate keys and non-finite constants are errors; floats stay floats
    (so that reading them as numbers fails with a "quote it" message)."""
    flagged = []

    # Both problems are refused after parsing, once the enclosing table can be named.
    def no_duplicates(pairs):
        result = {}
        for key, value in pairs:
            if key in result:
                flagged.append(key)
                return _DuplicateKey(key)
            result[key] = value
        return result

    def no_constants(name):
        flagged.append(name)
        return _NonFinite(name)

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants,
                              parse_float=FloatLiteral)
    except json.JSONDecodeError as exc:
        raise ModelError(f"JSON syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                         file=file) from None
    except ValueError as exc:  # an integer literal beyond Python's digit limit
        raise ModelError(f"JSON number too long: {_digit_limit(exc)}", file=file) from None
    except RecursionError:
        raise ModelError("JSON nested too deeply", file=file) from None
    if flagged:
        path, marker = _first_marker(document)
        if isinstance(marker, _DuplicateKey):
            raise ModelError(f"duplicate key {marker.key!r}", file=file,
                             table=".".join(path) or None, entry=marker.key)
        raise ModelError(f"{marker.name} is not a finite number; write an exact rational such as \"2/5\"",
                         file=file, table=".".join(path[:-1]) or None, entry=path[-1] if path else None)
    if not isinstance(document, dict):
        raise ModelError("the document must be a JSON object", file=file)
    return document


class FloatLiteral(float):
    """A JSON float that remembers how the file wrote it (``1e400`` is ``inf`` as a float), so that
    the "quote it" message shows the file's own text."""

    def __new__(cls, text: str):
        value = super().__new__(cls, text)
        value.text = text
        return value


class _DuplicateKey:
    """Stands in for a JSON object that repeats ``key`` until its location is known."""

    def __init__(self, key: str):
        self.key = key


class _NonFinite:
    """Stands in for a JSON ``NaN``/``Infinity``/``-Infinity`` until its location is known."""

    def __init__(self, name: str):
        self.name = name


def _first_marker(document: Any) -> tuple[tuple[str, ...], Any]:
    """Key path and marker of the first stand-in in document order (iterative: no depth limit)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, (_DuplicateKey, _NonFinite)):
            return path, value
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend(reversed([(item, path + (str(key),)) for key, item in items]))
    raise AssertionError("a JSON hook flagged a value that is not in the document")


def _digit_limit(exc: ValueError) -> str:
    # Python's message ends with advice to call sys.set_int_max_str_digits, which a user cannot act on.
    return str(exc).split(";")[0]


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Read a ``rewardcert/mdp-1`` model file (TOML or JSON)."""
    path = os.fspath(path)
    document = read_document(path)
    path = STDIN_NAME if path == STDIN else path
    try:
        mdp, data = model_from_document(document)
    except RewardcertError as exc:
        raise exc.located(file=path) from None
    return LoadedModel(mdp, data, path)


def load_data(path: str | os.PathLike, mdp: MDP) -> Vector:
    """Read a ``rewardcert/data-1`` file for ``mdp`` (the model's ``[data]`` shape)."""
    return load_table_file(path, DATA_FORMAT, _DATA_KEYS, "data file", "data",
                           lambda table: data_from_table(mdp, table))


def load_table_file(path: str | os.PathLike, expected_format: str, allowed_keys: set[str], what: str,
                    table: str, build):
    """A small file holding one table (data, a policy): check ``format``, the keys and the text
    fields, then ``build(document[table])``, with every error located in the file."""
    path = os.fspath(path)
    document = read_document(path)
    path = STDIN_NAME if path == STDIN else path
    try:
        _check_format(document, expected_format)
        _check_keys(document, allowed_keys, what)
        _check_text(document)
        if table not in document:
            raise ModelError(f"missing [{table}] table")
        return build(document[table])
    except RewardcertError as exc:
        raise exc.located(file=path) from None


def resolve_data(spec: str | None, loaded: LoadedModel) -> Vector:
    """``--data`` as given on the command line: a file, ``uniform``, or the model's own table."""
    if spec is None:
        if loaded.data is None:
            raise ModelError("no data distribution: pass --data FILE or --data uniform, "
                             "or add a [data] table to the model", file=loaded.path)
        return loaded.data
    if spec == "uniform":
        return uniform_distribution(loaded.mdp)
    return load_data(spec, loaded.mdp)


def data_from_table(mdp: MDP, table: Any) -> Vector:
    values = mdp.vector_from_table(table, name="data", default_zero=True)
    return validate_distribution(mdp, values, name="data")


def model_from_document(document: Mapping[str, Any]) -> tuple[MDP, Vector | None]:
    """Build and validate an MDP (and optional data) from a parsed model document."""
    if not isinstance(document, Mapping):
        raise ModelError("a model must be a table (TOML) or an object (JSON)")
    _check_format(document, MODEL_FORMAT)
    _check_keys(document, _MODEL_KEYS, "model")
    for key in ("gamma", "states", "actions", "initial", "reward"):
        if key not in document:
            raise ModelError(f"missing required key {key!r}", entry=key)
    _check_text(document)
    name = document.get("name", "")

    try:
        gamma = parse_rational(document["gamma"], what="discount factor")
    except ModelError as exc:
        raise ModelError(exc.message, entry="gamma") from None
    if not (0 <= gamma < 1):
        raise ModelError(f"gamma = {format_rational(gamma)} is outside [0, 1); "
                         "the discounted return needs 0 <= gamma < 1", entry="gamma")

    states = _name_list(document["states"], "states")
    actions = _name_list(document["actions"], "actions")
    # A throwaway MDP gives name look-ups (and size checks) before the tables are read.
    n, m = len(states), len(actions)
    if n * m > MAX_PAIRS:  # before the skeleton allocates n * m rewards
        raise ResourceLimit(f"{n} states x {m} actions = {n * m} pairs; at most {MAX_PAIRS} are supported",
                            entry="actions")
    skeleton = MDP(states, actions, Fraction(0), (Fraction(1),) + (Fraction(0),) * (n - 1),
                   (Fraction(0),) * (n * m), None, name)
    enabled = _enabled_table(skeleton, document["enabled"]) if "enabled" in document else None
    if enabled is not None:
        skeleton = MDP(states, actions, Fraction(0), skeleton.initial, skeleton.reward, None, name, enabled)

    initial = _state_distribution(skeleton, document["initial"], "initial")
    reward = skeleton.vector_from_table(document["reward"], name="reward", default_zero=False)

    transitions = None
    if "transitions" in document:
        transitions = _transitions(skeleton, document["transitions"])
    elif gamma != 0:
        raise ModelError("missing [transitions]: they may be omitted only when gamma = 0",
                         table="transitions")

    mdp = MDP(states, actions, gamma, initial, reward, transitions, name, enabled)
    data = data_from_table(mdp, document["data"]) if "data" in document else None
    return mdp, data


def model_to_document(mdp: MDP) -> dict[str, Any]:
    """The model in the file structure (rationals as strings), for JSON output and certificates."""
    document: dict[str, Any] = {"format": MODEL_FORMAT}
    if mdp.name:
        document["name"] = mdp.name
    document["gamma"] = format_rational(mdp.gamma)
    document["states"] = list(mdp.states)
    document["actions"] = list(mdp.actions)
    document["initial"] = {s: format_rational(p) for s, p in zip(mdp.states, mdp.initial) if p}
    if mdp.has_disabled:
        document["enabled"] = enabled_to_document(mdp)
    document["reward"] = mdp.pair_table(mdp.reward)
    if mdp.transitions is not None:
        m = mdp.n_actions
        document["transitions"] = {
            s: {a: {mdp.states[t]: format_rational(p) for t, p in mdp.transitions[i * m + j]}
                for j, a in enumerate(mdp.actions) if mdp.is_enabled(i * m + j)}
            for i, s in enumerate(mdp.states)}
    return document


def enabled_to_document(mdp: MDP) -> dict[str, list[str]]:
    """The ``[enabled]`` table: only the states that do not enable every action."""
    return {s: [mdp.actions[a] for a in mdp.enabled_actions(i)]
            for i, s in enumerate(mdp.states) if len(mdp.enabled_actions(i)) < mdp.n_actions}


def _enabled_table(skeleton: MDP, table: Any) -> tuple[tuple[int, ...], ...]:
    """``[enabled]``: ``state = [action, ...]``; omitted states enable every action."""
    if not isinstance(table, Mapping):
        raise ModelError("expected a table {state = [action, ...]}", table="enabled")
    m = skeleton.n_actions
    sets: list[tuple[int, ...]] = [tuple(range(m))] * skeleton.n_states
    for state, actions in table.items():
        s = skeleton.state_index(state, table="enabled")
        if not isinstance(actions, list) or not actions:
            raise ModelError("expected a non-empty list of action names", table="enabled", entry=state)
        indices = []
        for action in actions:
            if not isinstance(action, str):
                raise ModelError(f"action names must be strings, found {action!r}", table="enabled", entry=state)
            a = skeleton.action_index(action, table=f"enabled.{state}")
            if a in indices:
                raise ModelError(f"action {action!r} is listed twice", table="enabled", entry=state)
            indices.append(a)
        sets[s] = tuple(sorted(indices))
    return tuple(sets)


def data_to_document(mdp: MDP, data: Vector) -> dict[str, Any]:
    """A data distribution as a ``rewardcert/data-1`` document (zero entries omitted)."""
    table = {}
    m = mdp.n_actions
    for i, s in enumerate(mdp.states):
        row = {a: format_rational(data[i * m + j]) for j, a in enumerate(mdp.actions) if data[i * m + j]}
        if row:
            table[s] = row
    return {"format": DATA_FORMAT, "data": table}


def data_to_toml(mdp: MDP, data: Vector) -> str:
    """A data distribution as TOML text in the ``rewardcert/data-1`` format."""
    lines = [f'format = "{DATA_FORMAT}"', ""]
    for s, row in data_to_document(mdp, data)["data"].items():
        lines.append(f"[data.{_toml_key(s)}]")
        lines.extend(f'{_toml_key(a)} = "{p}"' for a, p in row.items())
        lines.append("")
    return "\n".join(lines)


def _toml_key(name: str) -> str:
    if name and all(c.isalnum() or c in "_-" for c in name):
        return name
    return json.dumps(name)


# -- helpers -----------------------------------------------------------------

def _check_format(document: Mapping[str, Any], expected: str) -> None:
    found = document.get("format")
    if found is None:
        raise ModelError(f'missing format = "{expected}"', entry="format")
    if found != expected:
        raise ModelError(f"format is {found!r}, expected {expected!r}", entry="format")


def _check_keys(document: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in document:
        if key not in allowed:
            raise ModelError(f"unknown key {key!r} in a {what} (allowed: {', '.join(sorted(allowed))})",
                             entry=str(key))


def _check_text(document: Mapping[str, Any]) -> None:
    for key in ("name", "description"):
        if key in document and not isinstance(document[key], str):
            raise ModelError(f"{key} must be a string", entry=key)


def _name_list(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ModelError(f"{what} must be a list of names", entry=what)
    for item in value:
        if not isinstance(item, str) or not item:
            raise ModelError(f"{what} must hold non-empty strings, found {item!r}", entry=what)
    return tuple(value)


def _state_distribution(skeleton: MDP, table: Any, name: str) -> Vector:
    if not isinstance(table, Mapping):
        raise ModelError("expected a table {state = probability}", table=name)
    values = [Fraction(0)] * skeleton.n_states
    for state, raw in table.items():
        s = skeleton.state_index(state, table=name)
        try:
            p = parse_rational(raw, what="probability")
        except ModelError as exc:
            raise ModelError(exc.message, table=name, entry=state) from None
        if p < 0:
            raise ModelError(f"negative probability {format_rational(p)}", table=name, entry=state)
        values[s] = p
    total = sum(values, Fraction(0))
    if total != 1:
        raise ModelError(f"probabilities sum to {format_rational(total)}, not 1", table=name)
    return tuple(values)


def _transitions(skeleton: MDP, table: Any) -> tuple:
    if not isinstance(table, Mapping):
        raise ModelError("expected a table per state", table="transitions")
    n, m = skeleton.n_states, skeleton.n_actions
    rows: list[tuple | None] = [None] * (n * m)
    entries = 0
    for state, per_action in table.items():
        s = skeleton.state_index(state, table="transitions")
        where = f"transitions.{state}"
        if not isinstance(per_action, Mapping):
            raise ModelError("expected a table {action = {next_state = probability}}", table=where)
        for action, dist in per_action.items():
            a = skeleton.action_index(action, table=where)
            if not skeleton.is_enabled(s * m + a):
                raise ModelError(f"action {action!r} is not enabled in state {state!r}, so it takes no "
                                 "transitions entry", table=where, entry=action)
            if not isinstance(dist, Mapping):
                raise ModelError("expected an inline table {next_state = probability}", table=where,
                                 entry=action)
            row = []
            total = Fraction(0)
            for next_state, raw in dist.items():
                t = skeleton.state_index(next_state, table=f"{where}.{action}")
                try:
                    p = parse_rational(raw, what="probability")
                except ModelError as exc:
                    raise ModelError(exc.message, table=f"{where}.{action}", entry=next_state) from None
                if p < 0:
                    raise ModelError(f"negative probability {format_rational(p)}",
                                     table=f"{where}.{action}", entry=next_state)
                total += p
                if p:
                    row.append((t, p))
            entries += len(row)
            if entries > MAX_TRANSITION_ENTRIES:
                raise ResourceLimit(f"more than {MAX_TRANSITION_ENTRIES} transition entries", table="transitions")
            if total != 1:
                raise ModelError(f"next-state probabilities sum to {format_rational(total)}, not 1",
                                 table=where, entry=action)
            rows[s * m + a] = tuple(sorted(row))
    for x, row in enumerate(rows):
        if row is None and not skeleton.is_enabled(x):
            rows[x] = ((x // m, Fraction(1)),)   # inert self-loop (see symbolic/core/model.py)
        elif row is None:
            state, action = skeleton.pair_name(x)
            raise ModelError(f"missing transitions for action {action!r}", table=f"transitions.{state}",
                             entry=action)
    return tuple(rows)
