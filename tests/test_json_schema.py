"""The machine interface: every ``--json`` document follows its schema, errors included (issue 30).

``tests/conftest.py`` validates every document any test makes a command print; this file checks
the schemas themselves, that the validation really runs, and the commands' documents end to end.
"""

from __future__ import annotations

import json

import jsonschema  # noqa: E402  (the test extra has it: a missing one must fail, not skip)
import pytest

from rewardcert.cli import main
from tests.conftest import EXAMPLES, SCHEMAS

COMMANDS = {
    "evaluate": ["evaluate", str(EXAMPLES / "figure4.toml")],
    "certify": ["certify", str(EXAMPLES / "figure4.toml"), "--data", str(EXAMPLES / "figure4-data-unsafe.toml"),
                "--epsilon", "1/5", "--regret", "4/5"],
    "threshold": ["threshold", str(EXAMPLES / "chatbot.toml"), "--regret", "1/2"],
    "certify-squared": ["certify", str(EXAMPLES / "figure4.toml"), "--data", str(EXAMPLES / "figure4-data.toml"),
                        "--epsilon", "1/5", "--regret", "4/5", "--error", "squared"],
    "threshold-squared": ["threshold", str(EXAMPLES / "chatbot.toml"), "--regret", "1/2", "--error", "squared"],
    "matrix": ["matrix", str(EXAMPLES / "figure4.toml"), "--regret", "4/5"],
    "safest": ["safest", str(EXAMPLES / "figure4.toml"), "--regret", "4/5"],
    "theorems": ["theorems", str(EXAMPLES / "figure4.toml"), "--data", str(EXAMPLES / "figure4-data.toml"),
                 "--epsilon", "1/5", "--regret", "4/5"],
    "measures": ["measures", str(EXAMPLES / "chain3.toml"), "--policy", str(EXAMPLES / "chain3-policy.toml"),
                 "--estimate", str(EXAMPLES / "chain3-estimate.toml"), "--horizon", "3"],
    "check": ["check", str(EXAMPLES.parent / "proofs" / "instances" / "figure4-safe.json")],
    "goodhart": ["goodhart", "--family", "power:2", "--sizes", "1,2", "--beta", "1"],
}


def _schema(name):
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def test_every_schema_is_a_valid_json_schema_with_a_versioned_id():
    names = sorted(p.stem for p in SCHEMAS.glob("*.json"))
    assert {"error", *COMMANDS} <= set(names)
    for name in names:
        schema = _schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.json")
        assert schema["properties"]["schema"]["const"] == f"rewardcert/{name}-1"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_commands_json_names_and_follows_its_schema(name, capsys):
    main([*COMMANDS[name], "--json"])
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == f"rewardcert/{name}-1"
    jsonschema.Draft202012Validator(_schema(name)).validate(document)


def test_the_validation_in_conftest_runs():
    import rewardcert.commands.certify as certify
    with pytest.raises(jsonschema.ValidationError):
        certify.print_json({"model": "m"}, "certify")        # certify's required keys are missing


def test_one_name_per_concept_across_lambda_zero_and_positive(capsys):
    main([*COMMANDS["threshold"], "--json"])
    exact = json.loads(capsys.readouterr().out)
    main(["threshold", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5", "--lambda", "1/2",
          "--timeout", "5", "--json"])
    regularised = json.loads(capsys.readouterr().out)
    for document in (exact, regularised):
        assert {"critical_epsilon", "interval", "complete"} <= set(document)
        assert set(document["interval"]) == {"lower", "upper"}
    assert exact["interval"]["lower"] == exact["interval"]["upper"] == exact["critical_epsilon"] == "2/99"
    assert regularised["critical_error"] == regularised["interval"]      # the deprecated alias, one release


@pytest.mark.parametrize("argv, kind", [
    (["certify", str(EXAMPLES / "figure4.toml"), "--data", "missing.toml", "--epsilon", "1/5", "--regret", "4/5"],
     "input"),
    (["certify", str(EXAMPLES / "figure4.toml"), "--epsilon", "1/5"], "usage"),
    (["threshold", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "3/2"], "input"),
])
def test_errors_are_json_on_stdout_with_the_same_exit_status(argv, kind, capsys):
    try:
        status = main([*argv, "--json"])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    assert status == 2
    document = json.loads(captured.out)
    jsonschema.Draft202012Validator(_schema("error")).validate(document)
    assert document["error"]["kind"] == kind and document["error"]["exit_status"] == 2
    if kind == "input" and "missing.toml" in argv:
        assert document["error"]["file"] == "missing.toml"
