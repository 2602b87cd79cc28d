"""The docs match the code: README commands and outputs, the certificate format's worked example, doctests."""

import doctest
import json
import re
import shlex

import pytest

import rewardcert
from rewardcert.cli import main
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_public_api_doctest(monkeypatch):
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testmod(rewardcert, verbose=False)
    assert tried > 0 and failures == 0


def test_benchmark_generator_doctests():
    import benchmarks.common
    failures, tried = doctest.testmod(benchmarks.common, verbose=False)
    assert tried > 0 and failures == 0


def readme_console_blocks():
    """(command, shown output lines) for each ```console block of the README."""
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        lines = block.splitlines()
        assert lines[0].startswith("$ rewardcert ")
        yield lines[0][2:], lines[1:]


@pytest.mark.parametrize("command, shown", list(readme_console_blocks()))
def test_readme_outputs_are_what_the_command_prints(command, shown, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    main(shlex.split(command)[1:])
    printed = capsys.readouterr().out.splitlines()
    # "..." in the README elides lines; every shown line must appear, in order
    position = 0
    for line in shown:
        if line.strip() == "...":
            continue
        if line.startswith("search:"):  # timings differ run to run
            line = line.rsplit(",", 1)[0]
        matches = [i for i in range(position, len(printed)) if printed[i].startswith(line)]
        assert matches, f"README shows {line!r}, which the command does not print"
        position = matches[0] + 1


def test_readme_two_commands_are_the_ones_ci_runs():
    commands = re.findall(r"^(pip install .*)$", README, re.M)
    assert len(commands) == 2
    main_job, test_job = commands
    assert "rewardcert certify examples/" in main_job
    assert test_job == "pip install '.[test]' && python -m pytest"
    assert test_job in (ROOT / ".ci" / "run").read_text()


def test_readme_main_job_runs(tmp_path, monkeypatch, capsys):
    main_job = re.findall(r"^pip install \. && (rewardcert .*)$", README, re.M)[0]
    argv = shlex.split(main_job)[1:]
    out = argv.index("--out")
    argv[out + 1] = str(tmp_path / argv[out + 1])
    monkeypatch.chdir(ROOT)
    assert main(argv) == 0
    assert "verdict: SAFE" in capsys.readouterr().out
    from rewardcert.proofs import checker
    assert checker.check_file(argv[out + 1])[0] == "verified"


def test_certificate_format_worked_example_is_real_output():
    text = (ROOT / "docs" / "certificate-format.md").read_text(encoding="utf-8")
    section = text[text.index("## 4. Worked example"):]
    shown = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    produced = json.loads((ROOT / "proofs" / "instances" / "figure4-threshold-uniform.json").read_text())
    assert shown == produced["evidence"]


def checker_rules() -> set[str]:
    """Every rule name the checker can reject with, read from its source's call sites."""
    import ast
    position = {"require": 1, "Reject": 0, "rational": 1, "obj": 1, "name_list": 1, "keys_within": 2,
                "pair_table": 1, "policy": 1}
    rules = set()
    trees = [ast.parse(path.read_text()) for path in sorted((ROOT / "proofs").rglob("*.py"))]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            index = position.get(name)
            if index is not None and len(node.args) > index and isinstance(node.args[index], ast.Constant):
                rules.add(node.args[index].value)
    return rules


def test_every_rule_the_checker_can_name_is_documented():
    rules = checker_rules()
    assert {"format", "tree-split", "dual-flow", "regret-values", "cover-bound"} <= rules
    doc = (ROOT / "docs" / "certificate-format.md").read_text()
    missing = sorted(rule for rule in rules if f"`{rule}`" not in doc)
    assert not missing, f"rules without documentation: {missing}"


def test_the_installed_command_works_outside_the_repository(tmp_path):
    """pytest imports the source tree, so this is what proves the installed package is complete."""
    import shutil
    import subprocess
    import sys
    model = tmp_path / "figure4.toml"
    shutil.copy(ROOT / "examples" / "figure4.toml", model)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    for module in ("rewardcert", "rewardcert.commands", "rewardcert.symbolic.search.engine", "rewardcert.smt",
                   "rewardcert.lp", "rewardcert.proofs.checker"):
        found = subprocess.run([sys.executable, "-c", f"import {module}; print({module}.__file__)"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert found.returncode == 0, (module, found.stderr)
    # nothing is installed under a generic top-level name (PyPI's smt, say, would collide)
    for generic in ("symbolic", "smt", "lp", "proofs"):
        found = subprocess.run([sys.executable, "-c", f"import {generic}"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120)
        assert found.returncode != 0 and "No module named" in found.stderr, generic
    done = subprocess.run([sys.executable, "-m", "rewardcert", "certify", str(model), "--data", "uniform",
                           "--epsilon", "1/5", "--regret", "4/5", "--out", str(tmp_path / "c.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "verdict: SAFE" in done.stdout, done.stdout + done.stderr
    checked = subprocess.run([sys.executable, "-m", "rewardcert.proofs.checker", str(tmp_path / "c.json")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert checked.stdout.strip() == "VERIFIED", checked.stderr


def test_nothing_cites_a_file_users_do_not_have():
    """The project's mathematics is in docs/ (theory.md, errata.md); no code, output or page cites
    the development notes the project grew from."""
    import re
    cited = []
    for top in ("rewardcert", "symbolic", "smt", "lp", "proofs", "docs", "examples"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".md", ".toml", ".json", ".nm") and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8", errors="replace")
                if re.search(r"SPEC|\.\./shared", text):
                    cited.append(str(path.relative_to(ROOT)))
    if re.search(r"SPEC|\.\./shared", README):
        cited.append("README.md")
    assert not cited, cited


def test_every_docs_page_link_resolves():
    import re
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).resolve().exists():
                broken.append(f"{page.name} -> {target}")
    assert not broken, broken
