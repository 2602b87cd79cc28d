"""Shared test configuration: hypothesis profiles and the "no tests ran" guard."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# The project's own source directories (never a virtual environment or build output).
SOURCE_DIRS = ("symbolic", "smt", "lp", "proofs", "rewardcert", "tests", "benchmarks", "examples")


def project_python_files() -> list[Path]:
    """Every .py file of the project's own source directories, sorted."""
    return sorted(path for name in SOURCE_DIRS for path in (ROOT / name).rglob("*.py"))


settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=600,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


def pytest_sessionfinish(session, exitstatus):
    # An empty run must never pass as green.
    if session.testscollected == 0 and exitstatus in (0, 5):
        sys.stderr.write("\nno tests were collected: failing the run\n")
        session.exitstatus = 1


SCHEMAS = ROOT / "docs" / "json-schema"


@pytest.fixture(autouse=True)
def _every_json_document_matches_its_schema(monkeypatch):
    """Every ``--json`` document a test makes a command print is validated against
    ``docs/json-schema/<command>.json`` (issue 30): a key added, renamed or retyped without the
    schema fails the test that printed it."""
    try:
        import jsonschema
    except ImportError:            # the test extra has it; without it, nothing to validate with
        yield
        return
    import json
    import sys as _sys
    import rewardcert.commands as commands

    real = commands.print_json

    def validated(document, schema):
        schema_doc = json.loads((SCHEMAS / f"{schema}.json").read_text(encoding="utf-8"))
        as_printed = json.loads(json.dumps({"schema": commands.schema_name(schema), **document}))
        jsonschema.Draft202012Validator(schema_doc).validate(as_printed)
        return real(document, schema)

    monkeypatch.setattr(commands, "print_json", validated)
    for name, module in list(_sys.modules.items()):
        if name.startswith("rewardcert.commands.") and getattr(module, "print_json", None) is real:
            monkeypatch.setattr(module, "print_json", validated)
    yield
