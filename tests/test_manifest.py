"""``rewardcert run MANIFEST`` and the manifests the pytest plugin collects (issue 30)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import xmlschema
from rewardcert.proofs import checker

from rewardcert.cli import main
from tests.conftest import EXAMPLES, ROOT

MANIFEST = EXAMPLES / "manifest.toml"
JUNIT = xmlschema.XMLSchema(str(ROOT / "tests" / "data" / "junit-10.xsd"))


def test_the_examples_manifest_holds_and_its_junit_report_is_valid(tmp_path, capsys):
    report, certs = tmp_path / "results.xml", tmp_path / "certificates"
    assert main(["run", str(MANIFEST), "--junit", str(report), "-o", str(certs)]) == 0
    out = capsys.readouterr().out
    assert "8 of 8 checks passed" in out
    JUNIT.validate(str(report))
    text = report.read_text()
    assert 'tests="8"' in text and 'failures="0"' in text and 'errors="0"' in text
    written = sorted(p.name for p in certs.iterdir())
    assert len(written) == 2                           # the two checks with certificate = true
    for path in certs.iterdir():
        assert checker.check_file(str(path))[0] == "verified"


def _manifest(tmp_path, body: str):
    path = tmp_path / "m.toml"
    path.write_text('format = "rewardcert/manifest-1"\nname = "trial"\n' + body)
    return path


def test_a_failed_expectation_exits_1_and_is_a_junit_failure(tmp_path, capsys):
    fig4 = EXAMPLES / "figure4.toml"
    path = _manifest(tmp_path, f'''
[[check]]
name = "right"
command = "threshold"
model = "{fig4}"
data = "uniform"
regret = "4/5"
expect = {{ critical_epsilon = "1/3" }}

[[check]]
name = "wrong"
command = "threshold"
model = "{fig4}"
data = "uniform"
regret = "4/5"
expect = {{ critical_epsilon = "1/4", json = {{ "witness.regret" = "1" }} }}

[[check]]
name = "missing model"
command = "threshold"
model = "nowhere.toml"
regret = "4/5"
''')
    report = tmp_path / "r.xml"
    assert main(["run", str(path), "--junit", str(report), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    results = {r["name"]: r for r in document["results"]}
    assert results["right"]["passed"] and not results["wrong"]["passed"]
    assert results["wrong"]["failures"] == ["critical_epsilon '1/3', expected '1/4'"]    # regret 1 held
    assert results["missing model"]["error"] and results["missing model"]["exit_status"] == 2
    JUNIT.validate(str(report))
    text = report.read_text()
    assert 'failures="1"' in text and 'errors="1"' in text and "<failure" in text and "<error" in text


@pytest.mark.parametrize("body, fragment", [
    ('[[check]]\ncommand = "frobnicate"\nmodel = "x.toml"\n', "command must be one of"),
    ('[[check]]\ncommand = "threshold"\nmodel = "x.toml"\nregrett = "1/2"\n', "unknown key 'regrett'"),
    ('[[check]]\ncommand = "threshold"\nmodel = "x.toml"\nexpect = { verdct = "safe" }\n', "expect takes"),
    ('[[check]]\ncommand = "threshold"\nmodel = "x.toml"\nregret = 0.5\n', "quote rationals"),
    ('', "one or more [[check]] tables"),
])
def test_a_malformed_manifest_exits_2_naming_the_check(body, fragment, tmp_path, capsys):
    path = _manifest(tmp_path, body)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(path) in err


def test_checks_run_on_worker_processes_give_the_same_answers(tmp_path, capsys):
    assert main(["run", str(MANIFEST), "--jobs", "2", "--json"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert parallel["passed"] == parallel["checks"] == 8


def test_the_plugin_collects_each_check_of_a_manifest(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = cases\nrewardcert_manifests = cases/*.toml\n")
    (tmp_path / "cases").mkdir()
    fig4 = EXAMPLES / "figure4.toml"
    (tmp_path / "cases" / "m.toml").write_text(f'''format = "rewardcert/manifest-1"
[[check]]
name = "holds"
command = "threshold"
model = "{fig4}"
data = "uniform"
regret = "4/5"
expect = {{ critical_epsilon = "1/3" }}
[[check]]
name = "fails"
command = "threshold"
model = "{fig4}"
data = "uniform"
regret = "4/5"
expect = {{ critical_epsilon = "1/2" }}
''')
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert "critical_epsilon '1/3', expected '1/2'" in done.stdout
