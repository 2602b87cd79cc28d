"""No lost files, no wrong models, no misleading words: the command line's edges (issue 29, items 1-11).

Each test runs the real command (``main``) against what is on disk before and after: device nodes,
FIFOs, links and directories as ``--out`` targets must survive, and an exit status 0 must mean the
file was written.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from fractions import Fraction as F

import pytest

from rewardcert.cli import main
from tests.conftest import EXAMPLES, ROOT

FIG4 = str(EXAMPLES / "figure4.toml")
FIG4_DATA = str(EXAMPLES / "figure4-data.toml")


def run(argv):
    try:
        return main(argv)
    except SystemExit as exc:          # argparse's own usage errors
        return exc.code


def writers(out):
    """Every command that writes a file, with ``out`` as its target."""
    return {
        "certify": ["certify", FIG4, "--data", FIG4_DATA, "--epsilon", "1/5", "--regret", "4/5", "--out", out],
        "threshold": ["threshold", FIG4, "--data", "uniform", "--regret", "4/5", "--out", out],
        "safest": ["safest", FIG4, "--regret", "4/5", "--out", out],
        "export": ["export", "prism", FIG4, "-o", out],
        "lambda": ["certify", FIG4, "--data", FIG4_DATA, "--epsilon", "1/100", "--regret", "4/5",
                   "--lambda", "1/2", "--timeout", "5", "--out", out],
    }


def _state(path: str):
    """What is at ``path``: its kind and, for a regular file, its bytes."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb") as handle:
            return ("file", handle.read())
    return (stat.S_IFMT(info.st_mode), info.st_rdev)


# -- 1. --out onto devices, FIFOs, links and directories -------------------------------------------

@pytest.mark.parametrize("command", sorted(writers("x")))
def test_out_onto_a_fifo_or_a_directory_is_refused_and_leaves_it(command, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target in (str(fifo), str(folder)):
        before = _state(target)
        status = run(writers(target)[command])
        err = capsys.readouterr().err
        assert status == 2, (command, target, err)
        assert "rewardcert: error:" in err and ("FIFO" in err or "directory" in err)
        assert _state(target) == before
    assert sorted(os.listdir(tmp_path)) == ["folder", "pipe"]      # no stray temporary file


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root (CI runs as root)")
@pytest.mark.parametrize("command", sorted(writers("x")))
def test_out_onto_a_device_is_refused_and_leaves_it(command, tmp_path, capsys):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    for target in (str(node), "/dev/null", "/dev/full"):
        before = _state(target)
        status = run(writers(target)[command])
        err = capsys.readouterr().err
        assert status == 2 and "character device" in err, (command, target, err)
        assert _state(target) == before and before[0] == stat.S_IFCHR


@pytest.mark.parametrize("command", sorted(writers("x")))
def test_out_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(command, tmp_path, capsys):
    target = tmp_path / "real.out"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.out"
    link.symlink_to(target)
    status = run(writers(str(link))[command])
    err = capsys.readouterr().err
    assert status in (0, 1), err                     # safe (0) or unsafe (1): a verdict, and a file
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640            # the replaced file's mode is kept
    assert f"{link} is a symbolic link; its target {target} was replaced" in err
    assert sorted(os.listdir(tmp_path)) == ["link.out", "real.out"]


def test_theorems_out_refuses_a_device_or_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    status = run(["theorems", FIG4, "--data", FIG4_DATA, "--epsilon", "1/5", "--regret", "4/5", "-o", str(fifo)])
    assert status == 2 and "--out takes a directory" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# -- 2. import and export write 0644 (the umask's) files, through the one writer --------------------

def test_export_writes_the_umask_mode_and_leaves_no_temporary_file(tmp_path, capsys):
    out = tmp_path / "f.nm"
    previous = os.umask(0o022)
    try:
        assert run(["export", "prism", FIG4, "-o", str(out)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o644
    assert os.listdir(tmp_path) == ["f.nm"]
    assert "module" in out.read_text()


def test_the_model_writer_is_the_atomic_one():
    from rewardcert.importers import mdpfile
    assert not hasattr(mdpfile, "write_text_atomically")
    source = (ROOT / "rewardcert" / "importers" / "mdpfile.py").read_text()
    assert "os.replace" not in source and "mkstemp" not in source


# -- 5. a bad --report is refused before the model is written ----------------------------------------

def test_import_checks_the_report_path_before_writing_the_model(tmp_path, capsys):
    out = tmp_path / "fresh.toml"
    status = run(["import", "gymnasium", "FrozenLake-v1", "--gamma", "9/10", "--report", "/nonexistent/r.txt",
                  "-o", str(out)])
    assert status == 2 and "/nonexistent" in capsys.readouterr().err
    assert not out.exists()


# -- 6. --timeout must be a positive finite number -----------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
@pytest.mark.parametrize("command", [["threshold", FIG4, "--data", "uniform", "--regret", "4/5"],
                                     ["safest", FIG4, "--regret", "4/5"],
                                     ["matrix", FIG4, "--regret", "4/5"]])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(command, value, capsys):
    assert run([*command, f"--timeout={value}"]) == 2
    assert "--timeout" in capsys.readouterr().err


# -- 7. the pytest plugin's strict mode is a clean failure --------------------------------------------

def test_the_plugins_strict_mode_fails_cleanly(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_nothing.py").write_text("def test_ok():\n    assert True\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\nrewardcert_certificates = missing/*.json\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "error::rewardcert.pytest_plugin.RewardcertPluginWarning"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output                 # pytest's usage error, not INTERNALERROR (3)
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert "'missing/*.json' matches no .json file" in output


# -- 8. PRISM export says when it loses a non-uniform mu0 ---------------------------------------------

TWO_STATES = """format = "rewardcert/mdp-1"
gamma = "1/2"
states = ["s", "t"]
actions = ["a"]
initial = { s = "1/4", t = "3/4" }
[reward]
s = { a = "1" }
t = { a = "2" }
[transitions]
s = { a = { s = "1" } }
t = { a = { t = "1" } }
"""


def test_prism_export_warns_that_a_non_uniform_mu0_is_lost(tmp_path, capsys):
    model = tmp_path / "two.toml"
    model.write_text(TWO_STATES)
    assert run(["export", "prism", str(model), "-o", str(tmp_path / "two.nm")]) == 0
    err = capsys.readouterr().err
    assert "warning: PRISM has no initial distribution" in err and "s = 1/4, t = 3/4" in err
    model.write_text(TWO_STATES.replace('"1/4"', '"1/2"').replace('"3/4"', '"1/2"'))
    assert run(["export", "prism", str(model), "-o", str(tmp_path / "two.nm")]) == 0
    assert "warning" not in capsys.readouterr().err           # uniform over the initial states: nothing lost


# -- 9. check's unreadable file is an error on standard error ----------------------------------------

def test_check_reports_an_unreadable_file_as_an_error(capsys):
    assert run(["check", "/nonexistent/c.json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rewardcert: error: /nonexistent/c.json: cannot read the certificate")


# -- 10. a JSON 1e400 is named as the file wrote it --------------------------------------------------

def test_a_huge_json_float_is_named_as_written(tmp_path, capsys):
    model = tmp_path / "m.json"
    model.write_text('{"format": "rewardcert/mdp-1", "states": ["s"], "actions": ["a", "b"], "gamma": "0", '
                     '"initial": {"s": "1"}, "reward": {"s": {"a": 1e400, "b": "0"}}}')
    assert run(["evaluate", str(model)]) == 2
    err = capsys.readouterr().err
    assert "1e400 is a floating-point number" in err and "inf" not in err and '"1e400"' in err


# -- 11. wording --------------------------------------------------------------------------------------

def test_one_family_and_one_state_are_singular(tmp_path, capsys):
    model = tmp_path / "one.toml"
    model.write_text('format = "rewardcert/mdp-1"\ngamma = "0"\nstates = ["s"]\nactions = ["a", "b"]\n'
                     'initial = { s = "1" }\n[reward]\ns = { a = "1", b = "0" }\n')
    run(["threshold", str(model), "--data", "uniform", "--regret", "1"])
    out = capsys.readouterr().out
    assert "1 families" not in out and " famil" in out
    run(["export", "prism", str(model), "-o", str(tmp_path / "one.nm")])
    assert "1 state," in capsys.readouterr().out


def test_a_decided_certify_whose_bounds_meet_states_the_value():
    # A certify that decided its epsilon on a big model may still have met bounds; then
    # eps*(D) is known and is printed as a value, not as a one-point interval "not computed".
    import dataclasses

    from rewardcert.commands.certify import _critical_line
    from rewardcert.symbolic.core.io import load_model
    from rewardcert.symbolic.core.model import uniform_distribution
    from rewardcert.symbolic.search.engine import critical_epsilon
    mdp = load_model(str(EXAMPLES / "gridworld4x4.toml")).mdp
    stopped = critical_epsilon(mdp, uniform_distribution(mdp), F(1, 2), max_nodes=3)
    assert not stopped.complete
    met = dataclasses.replace(stopped, lower_bound=F(3, 10), upper_bound=F(3, 10))
    line = _critical_line(met, "certify decided epsilon without computing eps*(D)")
    assert line.startswith("critical error eps*(D) = 3/10") and "without computing" not in line
    apart = dataclasses.replace(stopped, lower_bound=F(1, 10), upper_bound=F(3, 10))
    assert "in [1/10" in _critical_line(apart, "certify decided epsilon without computing eps*(D)")


def test_theorems_names_the_given_d_not_the_safest(capsys):
    run(["theorems", FIG4, "--data", FIG4_DATA, "--epsilon", "1/5", "--regret", "4/5"])
    out = capsys.readouterr().out
    assert "this D's" not in out and "the given D's eps*(D) = 3/10" in out


def test_a_discount_that_floats_round_to_one_is_decided_exactly(tmp_path, capsys):
    # gamma = 1 - 1e-19 is exactly 1.0 as a float: the float guides must step aside (they divided by
    # 1 - gamma and crashed with exit 70); the exact search decides, and its certificate verifies.
    from rewardcert.proofs import checker
    model = tmp_path / "m.json"
    model.write_text(json.dumps({
        "format": "rewardcert/mdp-1", "gamma": "10000000000000000000/10000000000000000001",
        "states": ["s0", "s1"], "actions": ["a0", "a1"], "initial": {"s1": "1"},
        "reward": {"s0": {"a0": "0", "a1": "0"}, "s1": {"a0": "0", "a1": "1"}},
        "transitions": {"s0": {"a0": {"s0": "1"}, "a1": {"s1": "1"}}, "s1": {"a0": {"s0": "1"}, "a1": {"s0": "1"}}}}))
    out = tmp_path / "c.json"
    status = run(["certify", str(model), "--data", "uniform", "--epsilon", "1", "--regret", "1/2", "--out", str(out)])
    assert status in (0, 1), capsys.readouterr().err
    assert checker.check_file(str(out))[0] == "verified"
