"""Malformed model and data files: every case of issue 2 gets a RewardcertError naming the
file and the table/entry (``FILE: [TABLE] ENTRY: message``), and the command exits 2 with
one ``rewardcert: error: ...`` line and no traceback.

Each case edits a valid base file (TOML text, or a JSON document) and states where the
message must point and a fragment of what it must say.
"""

from __future__ import annotations

import json

import pytest
import rewardcert.symbolic.core.io as symbolic_io
from rewardcert.symbolic.core.errors import ModelError, ResourceLimit, RewardcertError
from rewardcert.symbolic.core.io import load_data, load_model
from rewardcert.symbolic.core.model import MAX_ACTIONS, MAX_PAIRS, MAX_STATES
from rewardcert.symbolic.core.numbers import MAX_NUMBER_CHARS

from rewardcert.cli import main

BASE = """\
format = "rewardcert/mdp-1"
name = "base"
gamma = "1/2"
states = ["s", "t"]
actions = ["a", "b"]
initial = { s = "1" }

[reward.s]
a = "1"
b = "0"

[reward.t]
a = "2/5"
b = "-1"

[transitions.s]
a = { s = "1/4", t = "3/4" }
b = { s = "1/2", t = "1/2" }

[transitions.t]
a = { t = "1" }
b = { s = "1" }

[data.s]
a = "1/10"
b = "1/5"

[data.t]
a = "3/10"
b = "2/5"
"""

TRANSITIONS = BASE[BASE.index("[transitions.s]"):BASE.index("[data.s]")]

BASE_DOCUMENT = {
    "format": "rewardcert/mdp-1",
    "name": "base",
    "gamma": "1/2",
    "states": ["s", "t"],
    "actions": ["a", "b"],
    "initial": {"s": "1"},
    "reward": {"s": {"a": "1", "b": "0"}, "t": {"a": "2/5", "b": "-1"}},
    "transitions": {"s": {"a": {"s": "1/4", "t": "3/4"}, "b": {"s": "1/2", "t": "1/2"}},
                    "t": {"a": {"t": "1"}, "b": {"s": "1"}}},
}

DATA_BASE = """\
format = "rewardcert/data-1"

[data.s]
a = "1/10"
b = "1/5"

[data.t]
a = "3/10"
b = "2/5"
"""


def edit(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, f"ambiguous or missing edit: {old!r}"
        text = text.replace(old, new)
    return text


def names(prefix: str, count: int) -> str:
    return "[" + ", ".join(f'"{prefix}{i}"' for i in range(count)) + "]"


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def located(exc: RewardcertError, path, where: str, says: str) -> None:
    text = str(exc)
    assert text.startswith(f"{path}: "), text
    assert where in text, f"{where!r} not in {text!r}"
    assert says in text, f"{says!r} not in {text!r}"


def test_base_files_are_valid(tmp_path):
    loaded = load_model(write(tmp_path, "base.toml", BASE))
    assert loaded.data is not None and sum(loaded.data) == 1
    assert load_model(write(tmp_path, "base.json", json.dumps(BASE_DOCUMENT))).mdp == loaded.mdp
    assert load_data(write(tmp_path, "data.toml", DATA_BASE), loaded.mdp) == loaded.data


# -- TOML model files ------------------------------------------------------------------------

TOML_CASES = [
    # syntax
    pytest.param(edit(BASE, ('gamma = "1/2"', 'gamma = "1/2'),), "line 3", "TOML syntax error",
                 id="toml-syntax-error"),
    pytest.param(edit(BASE, ('[reward.t]\na = "2/5"', '[reward.t]\na = "2/5"\na = "1"'),), "line 14",
                 "TOML syntax error", id="toml-duplicate-key"),
    # missing or unknown states and actions
    pytest.param(edit(BASE, ('a = "1"\nb = "0"\n', 'a = "1"\n'),), "[reward.s] b:", "missing reward entry",
                 id="reward-missing-action"),
    pytest.param(edit(BASE, ('[reward.t]\na = "2/5"\nb = "-1"\n', ""),), "[reward.t] a:",
                 "missing reward entry", id="reward-missing-state"),
    pytest.param(edit(BASE, ('[reward.t]', '[reward.u]'),), "[reward] u:", "unknown state 'u'",
                 id="reward-unknown-state"),
    pytest.param(edit(BASE, ('b = "-1"', 'c = "-1"'),), "[reward.t] c:", "unknown action 'c'",
                 id="reward-unknown-action"),
    pytest.param(edit(BASE, ('[transitions.t]', '[transitions.u]'),), "[transitions] u:",
                 "unknown state 'u'", id="transitions-unknown-state"),
    pytest.param(edit(BASE, ('b = { s = "1" }', 'c = { s = "1" }'),), "[transitions.t] c:",
                 "unknown action 'c'", id="transitions-unknown-action"),
    pytest.param(edit(BASE, ('a = { t = "1" }', 'a = { u = "1" }'),), "[transitions.t.a] u:",
                 "unknown state 'u'", id="transitions-unknown-next-state"),
    pytest.param(edit(BASE, ('b = { s = "1" }\n', ""),), "[transitions.t] b:", "missing transitions",
                 id="transitions-missing-action"),
    pytest.param(edit(BASE, ('initial = { s = "1" }', 'initial = { u = "1" }'),), "[initial] u:",
                 "unknown state 'u'", id="initial-unknown-state"),
    pytest.param(edit(BASE, ('[data.t]', '[data.u]'),), "[data] u:", "unknown state 'u'",
                 id="data-unknown-state"),
    pytest.param(edit(BASE, ('b = "2/5"', 'c = "2/5"'),), "[data.t] c:", "unknown action 'c'",
                 id="data-unknown-action"),
    pytest.param(edit(BASE, ('\n[reward.s]', 'reward = "none"\n[reward.s]'),), "line 8",
                 "TOML syntax error", id="reward-redefined"),
    # duplicate names
    pytest.param(edit(BASE, ('states = ["s", "t"]', 'states = ["s", "t", "s"]'),), "states:",
                 "duplicate name 's'", id="duplicate-state"),
    pytest.param(edit(BASE, ('actions = ["a", "b"]', 'actions = ["a", "b", "b"]'),), "actions:",
                 "duplicate name 'b'", id="duplicate-action"),
    pytest.param(edit(BASE, ('states = ["s", "t"]', 'states = ["s", ""]'),), "states:",
                 "non-empty strings", id="empty-state-name"),
    pytest.param(edit(BASE, ('states = ["s", "t"]', 'states = []'),), "states:",
                 "at least one name", id="no-states"),
    # probability rows
    pytest.param(edit(BASE, ('initial = { s = "1" }', 'initial = { s = "3/2", t = "-1/2" }'),),
                 "[initial] t:", "negative probability -1/2", id="initial-negative"),
    pytest.param(edit(BASE, ('initial = { s = "1" }', 'initial = { s = "1/2" }'),), "[initial]:",
                 "sum to 1/2, not 1", id="initial-sum"),
    pytest.param(edit(BASE, ('b = { s = "1/2", t = "1/2" }', 'b = { s = "3/2", t = "-1/2" }'),),
                 "[transitions.s.b] t:", "negative probability -1/2", id="transitions-negative"),
    pytest.param(edit(BASE, ('b = { s = "1/2", t = "1/2" }', 'b = { s = "1/2", t = "1/4" }'),),
                 "[transitions.s] b:", "sum to 3/4, not 1", id="transitions-sum"),
    pytest.param(edit(BASE, ('a = "1/10"\nb = "1/5"', 'a = "-1/10"\nb = "2/5"'),), "[data.s] a:",
                 "negative probability -1/10", id="data-negative"),
    pytest.param(edit(BASE, ('b = "2/5"', 'b = "1/2"'),), "[data]:", "sum to 11/10, not 1",
                 id="data-sum"),
    # gamma
    *[pytest.param(edit(BASE, ('gamma = "1/2"', f'gamma = "{g}"'),), "gamma:", "outside [0, 1)",
                   id=f"gamma-{g}") for g in ("1", "-1/2", "3/2")],
    pytest.param(edit(BASE, ('gamma = "1/2"', 'gamma = "one half"'),), "gamma:",
                 "not an exact discount factor", id="gamma-not-a-number"),
    # missing pieces
    pytest.param(edit(BASE, (TRANSITIONS, ""),), "[transitions]:", "missing [transitions]",
                 id="transitions-missing-with-positive-gamma"),
    pytest.param(edit(BASE, ('initial = { s = "1" }\n', ""),), "initial:", "missing required key",
                 id="initial-missing"),
    pytest.param(edit(BASE, ('format = "rewardcert/mdp-1"\n', ""),), "format:", "missing format",
                 id="format-missing"),
    pytest.param(edit(BASE, ('"rewardcert/mdp-1"', '"rewardcert/mdp-2"'),), "format:",
                 "expected 'rewardcert/mdp-1'", id="format-wrong"),
    pytest.param(edit(BASE, ('"rewardcert/mdp-1"', '"rewardcert/data-1"'),), "format:",
                 "expected 'rewardcert/mdp-1'", id="format-data-file-given-as-model"),
    pytest.param(edit(BASE, ('name = "base"', 'name = "base"\ncolour = "red"'),), "colour:",
                 "unknown key 'colour'", id="unknown-top-level-key"),
    pytest.param(edit(BASE, ('name = "base"', 'name = 3'),), "name:", "must be a string",
                 id="name-not-a-string"),
    pytest.param(edit(BASE, ('name = "base"', 'description = ["x"]'),), "description:",
                 "must be a string", id="description-not-a-string"),
    # numbers
    pytest.param(edit(BASE, ('gamma = "1/2"', 'gamma = 0.5'),), "gamma:", 'quote it instead, e.g. "0.5"',
                 id="gamma-toml-float"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = 0.4'),), "[reward.t] a:", 'quote it instead, e.g. "0.4"',
                 id="reward-toml-float"),
    pytest.param(edit(BASE, ('a = { t = "1" }', 'a = { t = 1.0 }'),), "[transitions.t.a] t:",
                 "quote it", id="transition-toml-float"),
    pytest.param(edit(BASE, ('initial = { s = "1" }', 'initial = { s = 1e0 }'),), "[initial] s:",
                 "quote it", id="initial-toml-float"),
    pytest.param(edit(BASE, ('a = "3/10"', 'a = 0.3'),), "[data.t] a:", "quote it", id="data-toml-float"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = nan'),), "[reward.t] a:", "not a finite number",
                 id="reward-toml-nan"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = -inf'),), "[reward.t] a:", "not a finite number",
                 id="reward-toml-inf"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = true'),), "[reward.t] a:", "boolean",
                 id="reward-boolean"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = "2/0"'),), "[reward.t] a:", "zero denominator",
                 id="reward-zero-denominator"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = "0x10"'),), "[reward.t] a:", "not an exact number",
                 id="reward-hex"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = "\u0661\u0662"'),), "[reward.t] a:", "not an exact number",
                 id="reward-non-ascii-digits"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = { p = "2/5" }'),), "[reward.t] a:", "got dict",
                 id="reward-table-instead-of-number"),
    pytest.param(edit(BASE, ('a = "2/5"', f'a = "{"1" * (MAX_NUMBER_CHARS + 1)}"'),), "[reward.t] a:",
                 f"at most {MAX_NUMBER_CHARS}", id="number-too-long"),
    pytest.param(edit(BASE, ('a = "2/5"', 'a = "1e99999"'),), "[reward.t] a:", "exponent",
                 id="exponent-too-large"),
    pytest.param(edit(BASE, ('a = "2/5"', f'a = {"7" * 5000}'),), "TOML number too long", "4300",
                 id="toml-integer-beyond-python-limit"),
    pytest.param(edit(BASE, ('name = "base"', 'name = "base"\nx = ' + "[" * 5000 + "]" * 5000),),
                 "TOML nested too deeply", "", id="toml-nested-too-deeply"),
    # sizes
    pytest.param(edit(BASE, ('states = ["s", "t"]', f"states = {names('s', MAX_STATES + 1)}"),),
                 "states:", f"at most {MAX_STATES}", id="too-many-states"),
    pytest.param(edit(BASE, ('actions = ["a", "b"]', f"actions = {names('a', MAX_ACTIONS + 1)}"),),
                 "actions:", f"at most {MAX_ACTIONS}", id="too-many-actions"),
    pytest.param(edit(BASE, ('states = ["s", "t"]', f"states = {names('s', MAX_PAIRS // 1000 + 1)}"),
                      ('actions = ["a", "b"]', f"actions = {names('a', 1000)}")),
                 "actions:", f"at most {MAX_PAIRS}", id="too-many-pairs"),
]


@pytest.mark.parametrize("content, where, says", TOML_CASES)
def test_bad_toml_model(tmp_path, content, where, says):
    path = write(tmp_path, "model.toml", content)
    with pytest.raises(RewardcertError) as info:
        load_model(path)
    located(info.value, path, where, says)


@pytest.mark.parametrize("content, where, says", TOML_CASES)
def test_command_reports_bad_model_in_one_line(tmp_path, capsys, content, where, says):
    path = write(tmp_path, "model.toml", content)
    assert main(["evaluate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"rewardcert: error: {path}: ")
    assert where in lines[0] and says in lines[0]


def test_sizes_raise_resource_limit(tmp_path):
    path = write(tmp_path, "big.toml", edit(BASE, ('actions = ["a", "b"]',
                                                   f"actions = {names('a', MAX_ACTIONS + 1)}")))
    with pytest.raises(ResourceLimit):
        load_model(path)


def test_file_larger_than_limit(tmp_path, monkeypatch):
    path = write(tmp_path, "model.toml", BASE)
    monkeypatch.setattr(symbolic_io, "MAX_FILE_BYTES", len(BASE.encode()) - 1)
    with pytest.raises(ResourceLimit) as info:
        load_model(path)
    located(info.value, path, "", "bytes; at most")


def test_too_many_transition_entries(tmp_path, monkeypatch):
    path = write(tmp_path, "model.toml", BASE)
    monkeypatch.setattr(symbolic_io, "MAX_TRANSITION_ENTRIES", 3)  # the base file has 6
    with pytest.raises(ResourceLimit) as info:
        load_model(path)
    located(info.value, path, "[transitions]:", "more than 3 transition entries")


def test_non_utf8_file(tmp_path):
    path = write(tmp_path, "model.toml", BASE.encode().replace(b'"base"', b'"b\xe4se"'))
    with pytest.raises(ModelError) as info:
        load_model(path)
    located(info.value, path, f"byte {BASE.index('base') + 1}", "not UTF-8")


def test_a_byte_order_mark_is_dropped_and_a_late_one_is_an_error(tmp_path):
    # Some editors start UTF-8 files with U+FEFF; tomllib called it an invalid statement at 1:1.
    plain = load_model(write(tmp_path, "plain.toml", BASE)).mdp
    assert load_model(write(tmp_path, "bom.toml", "\ufeff" + BASE)).mdp == plain
    assert load_model(write(tmp_path, "bom.json", "\ufeff" + BASE_JSON)).mdp == plain
    with pytest.raises(ModelError) as info:        # only a leading one is dropped
        load_model(write(tmp_path, "late.toml", BASE.replace("\n", "\n\ufeff", 1)))
    located(info.value, tmp_path / "late.toml", "line 2", "TOML syntax error")


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ModelError) as info:
        load_model(path)
    located(info.value, path, "", "cannot read file")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rewardcert: error: {path}: cannot read file") and "Traceback" not in err


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ModelError) as info:
        load_model(tmp_path)
    located(info.value, tmp_path, "", "cannot read file")


def test_bandit_may_omit_transitions_but_not_a_positive_gamma(tmp_path):
    bandit = edit(BASE, ('gamma = "1/2"', 'gamma = "0"'), (TRANSITIONS, ""))
    assert load_model(write(tmp_path, "bandit.toml", bandit)).mdp.transitions is None
    path = write(tmp_path, "model.toml", edit(bandit, ('gamma = "0"', 'gamma = "1/100"')))
    with pytest.raises(ModelError) as info:
        load_model(path)
    located(info.value, path, "[transitions]:", "only when gamma = 0")


# -- JSON model files -------------------------------------------------------------------------

def document_with(**changes):
    document = json.loads(json.dumps(BASE_DOCUMENT))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = document
        for parent in parents:
            target = target[parent]
        target[key] = value
    return json.dumps(document)


BASE_JSON = json.dumps(BASE_DOCUMENT)

JSON_CASES = [
    pytest.param(BASE_JSON.replace('"gamma": "1/2"', '"gamma": "1/2", "gamma": "1/3"'), "gamma:",
                 "duplicate key 'gamma'", id="json-duplicate-top-level-key"),
    pytest.param(BASE_JSON.replace('"a": "2/5"', '"a": "2/5", "a": "1"'), "[reward.t] a:", "duplicate key 'a'",
                 id="json-duplicate-reward-key"),
    pytest.param(document_with(gamma=0.5), "gamma:", 'quote it instead, e.g. "0.5"', id="json-float-gamma"),
    pytest.param(document_with(reward__t__a=0.4), "[reward.t] a:", "quote it", id="json-float-reward"),
    pytest.param(document_with(reward__t__a=1e400), "[reward.t] a:", "not a finite number",
                 id="json-overflowing-float"),
    pytest.param(BASE_JSON.replace('"a": "2/5"', '"a": NaN'), "[reward.t] a:", "NaN is not a finite number",
                 id="json-nan"),
    pytest.param(BASE_JSON.replace('"t": "3/4"', '"t": -Infinity'), "[transitions.s.a] t:",
                 "-Infinity is not a finite number", id="json-infinity"),
    pytest.param(document_with(description=["x", float("nan")]), "[description] 1:",
                 "NaN is not a finite number", id="json-nan-in-a-list"),
    pytest.param(BASE_JSON[:-1], "JSON syntax error", "line 1", id="json-syntax-error"),
    pytest.param("[1, 2]", "must be a JSON object", "", id="json-not-an-object"),
    pytest.param("NaN", "NaN is not a finite number", "", id="json-bare-nan"),
    pytest.param('{"a": {"b": 1, "b": 2}, "a": 3}', "a:", "duplicate key 'a'", id="json-duplicate-outer-first"),
    pytest.param(BASE_JSON.replace('"1/2"', "7" * 5000, 1), "JSON number too long", "4300",
                 id="json-integer-beyond-python-limit"),
    pytest.param('{"x": ' + "[" * 100000 + "]" * 100000 + "}", "JSON nested too deeply", "",
                 id="json-nested-too-deeply"),
    pytest.param(document_with(format="rewardcert/mdp-2"), "format:", "expected 'rewardcert/mdp-1'",
                 id="json-wrong-format"),
    pytest.param(document_with(colour="red"), "colour:", "unknown key", id="json-unknown-key"),
    pytest.param(document_with(gamma="3/2"), "gamma:", "outside [0, 1)", id="json-gamma"),
    pytest.param(document_with(reward__t={"a": "1"}), "[reward.t] b:", "missing reward entry",
                 id="json-missing-reward"),
    pytest.param(document_with(states=["s", "t", "t"]), "states:", "duplicate name 't'",
                 id="json-duplicate-state"),
    pytest.param(document_with(states="s t"), "states:", "list of names", id="json-states-not-a-list"),
    pytest.param(document_with(reward__t=["1", "2"]), "[reward.t]:", "expected a table of actions",
                 id="json-reward-row-not-a-table"),
    pytest.param(document_with(transitions__t__a=["t"]), "[transitions.t] a:", "expected an inline table",
                 id="json-transition-row-not-a-table"),
]


@pytest.mark.parametrize("content, where, says", JSON_CASES)
def test_bad_json_model(tmp_path, capsys, content, where, says):
    path = write(tmp_path, "model.json", content)
    with pytest.raises(RewardcertError) as info:
        load_model(path)
    located(info.value, path, where, says)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rewardcert: error: {path}: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_non_utf8_json(tmp_path):
    path = write(tmp_path, "model.json", BASE_JSON.encode().replace(b'"1/2"', b'"\xff"', 1))
    with pytest.raises(ModelError) as info:
        load_model(path)
    located(info.value, path, "byte", "not UTF-8")


# -- data files ---------------------------------------------------------------------------------

DATA_CASES = [
    pytest.param(edit(DATA_BASE, ('b = "2/5"', 'b = "1/2"'),), "[data]:", "sum to 11/10, not 1",
                 id="data-file-sum"),
    pytest.param(edit(DATA_BASE, ('a = "1/10"\nb = "1/5"', 'a = "-1/10"\nb = "2/5"'),), "[data.s] a:",
                 "negative probability", id="data-file-negative"),
    pytest.param(edit(DATA_BASE, ('[data.t]', '[data.u]'),), "[data] u:", "unknown state 'u'",
                 id="data-file-unknown-state"),
    pytest.param(edit(DATA_BASE, ('b = "2/5"', 'c = "2/5"'),), "[data.t] c:", "unknown action 'c'",
                 id="data-file-unknown-action"),
    pytest.param(edit(DATA_BASE, ('a = "3/10"', 'a = 0.3'),), "[data.t] a:", "quote it",
                 id="data-file-float"),
    pytest.param(edit(DATA_BASE, ('"rewardcert/data-1"', '"rewardcert/mdp-1"'),), "format:",
                 "expected 'rewardcert/data-1'", id="data-file-wrong-format"),
    pytest.param(edit(DATA_BASE, ('format = "rewardcert/data-1"', 'format = "rewardcert/data-1"\ngamma = "0"'),),
                 "gamma:", "unknown key 'gamma'", id="data-file-unknown-key"),
    pytest.param(DATA_BASE[:DATA_BASE.index("[data.s]")], "data", "missing [data] table",
                 id="data-file-without-data"),
    pytest.param(edit(DATA_BASE, ('[data.t]', '[data.t'),), "line 7", "TOML syntax error",
                 id="data-file-syntax"),
]


@pytest.mark.parametrize("content, where, says", DATA_CASES)
def test_bad_data_file(tmp_path, content, where, says):
    mdp = load_model(write(tmp_path, "model.toml", BASE)).mdp
    path = write(tmp_path, "data.toml", content)
    with pytest.raises(RewardcertError) as info:
        load_data(path, mdp)
    located(info.value, path, where, says)
