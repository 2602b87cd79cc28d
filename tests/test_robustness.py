"""Issue 11, "no lost files, no surprises": one regression test per item that can have one.

Each test checks behaviour against something computed independently: the standalone
checker, the file on disk before and after, hand arithmetic, the parser's own option list.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import model_to_document

import rewardcert
from rewardcert.cli import build_parser, main
from tests.conftest import EXAMPLES, ROOT
from tests.strategies import mdps

FIG4 = str(EXAMPLES / "figure4.toml")
CHATBOT = str(EXAMPLES / "chatbot.toml")
GRID = str(EXAMPLES / "gridworld4x4.toml")


def certify_args(out, *extra):
    return ["certify", FIG4, "--data", "uniform", "--epsilon", "1/5", "--regret", "4/5", "--out", str(out), *extra]


def run(argv):
    """``main(argv)``, with argparse's own exit (usage errors) turned into its status."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


# -- 1. atomic writes ------------------------------------------------------------------------

def _old_certificate(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"old": "certificate"}\n')
    return path


def test_a_full_disk_leaves_the_old_certificate_intact(tmp_path, monkeypatch, capsys):
    path = _old_certificate(tmp_path)
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:                       # part of the JSON lands, then the disk is full
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    assert main(certify_args(path)) == 2
    monkeypatch.undo()
    assert len(calls) >= 2, "the writer did not go through os.write"
    assert path.read_text() == '{"old": "certificate"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"], "a temporary file was left behind"
    err = capsys.readouterr().err
    assert "No space left on device" in err and "unchanged" in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform != "linux", reason="uses RLIMIT_FSIZE and SIGXFSZ")
def test_a_real_write_failure_leaves_the_old_certificate_intact(tmp_path):
    """No mocking: the child may not grow any file past 600 bytes (RLIMIT_FSIZE), so the kernel
    fails the certificate's write (EFBIG) part-way, as a full disk fails it with ENOSPC."""
    import resource
    path = _old_certificate(tmp_path)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))

    # -B: a child that compiled a changed module would write its .pyc cut short at 600 bytes (the
    # write returns short, and importlib renames the file into place), breaking later imports.
    done = subprocess.run([sys.executable, "-B", "-m", "rewardcert", *certify_args(path)], cwd=ROOT,
                          preexec_fn=limit, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and "unchanged" in done.stderr
    assert path.read_text() == '{"old": "certificate"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    # the certificate really is larger than the limit (so the failure was the write's)
    assert main(certify_args(tmp_path / "full.json")) == 0
    assert (tmp_path / "full.json").stat().st_size > 600


def test_an_interrupt_during_the_write_leaves_the_old_certificate_intact(tmp_path, monkeypatch, capsys):
    path = _old_certificate(tmp_path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    assert main(certify_args(path)) == 130
    monkeypatch.undo()
    assert path.read_text() == '{"old": "certificate"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert "interrupted" in capsys.readouterr().err


def test_a_successful_write_replaces_the_file_and_keeps_its_permissions(tmp_path, capsys):
    path = _old_certificate(tmp_path)
    os.chmod(path, 0o640)
    assert main(certify_args(path)) == 0
    assert checker.check_file(str(path))[0] == "verified"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


# -- 1, 4. SIGINT and SIGTERM stop the search and keep the interval ----------------------------

class _SignalAfter:
    """Sends ``signum`` to this process on the n-th progress report of the search."""

    def __init__(self, signum, after):
        self.signum, self.after, self.calls = signum, after, 0

    def report(self, done, total):
        self.calls += 1
        if self.calls == self.after:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_search_and_prints_the_interval(signum, status, monkeypatch, capsys, tmp_path):
    import rewardcert.commands.certify as certify_module

    fake = _SignalAfter(signum, after=30)

    class Bar:
        def __init__(self, *a, **k):
            pass

        def __call__(self, done, total):
            fake.report(done, total)

        def close(self):
            pass

    monkeypatch.setattr(certify_module, "ProgressBar", Bar)
    out = tmp_path / "c.json"
    code = main(["threshold", GRID, "--data", "uniform", "--regret", "1/2",
                 "--timeout", "60", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == status
    assert fake.calls >= 30
    document = json.loads(captured.out)
    assert document["search"]["complete"] is False and document["critical_epsilon"] is None
    low, high = (F(v) for v in document["critical_epsilon_interval"])
    assert 0 <= low <= high
    # An undecided threshold still certifies its interval (certificate-format §3.5).
    status_, _, facts = checker.check_file(str(out))
    assert status_ == "verified" and facts["verdict"] == "interval"
    assert [F(v) for v in facts["interval"]] == [low, high]
    # the upper end is a real attack: the standalone checker accepts it as an unsafe certificate
    loaded = rewardcert.load_model(GRID)
    mdp = loaded.mdp
    witness = document["witness"]
    reward = tuple(F(witness["reward"][s][a]) for s in mdp.states for a in mdp.actions)
    policy = tuple(mdp.actions.index(witness["policy"][s]) for s in mdp.states)
    bounds = rewardcert.return_bounds(mdp)
    w = rewardcert.Witness(reward, policy, high)
    certificate = rewardcert.unsafe_certificate(mdp, rewardcert.uniform_distribution(mdp), high, F(1, 2), w, bounds)
    assert checker.check_document(certificate)[0] == "verified"


def test_an_interrupted_certify_prints_the_interval_and_says_so(monkeypatch, capsys):
    import rewardcert.commands.certify as certify_module
    fake = _SignalAfter(signal.SIGINT, after=30)

    class Bar:
        def __init__(self, *a, **k):
            pass

        def __call__(self, done, total):
            fake.report(done, total)

        def close(self):
            pass

    monkeypatch.setattr(certify_module, "ProgressBar", Bar)
    code = main(["certify", GRID, "--data", "uniform", "--epsilon", "1/100", "--regret", "1/2", "--timeout", "60"])
    printed = capsys.readouterr().out
    assert code == 130
    assert "critical error eps*(D) in [" in printed and "(interrupted:" in printed
    assert "verdict: UNKNOWN" in printed and "rerun to let it finish" in printed


def test_exit_130_is_documented():
    for text in ((ROOT / "README.md").read_text(), (ROOT / "docs" / "design.md").read_text(),
                 (ROOT / "rewardcert" / "cli.py").read_text()):
        assert "130" in text and "143" in text


# -- 2. one number-size limit for producer and checker ------------------------------------------

def test_producer_and_checker_share_one_number_limit():
    from rewardcert.symbolic.core.numbers import MAX_NUMBER_CHARS
    assert checker.MAX_NUMBER_CHARS == MAX_NUMBER_CHARS == 2000


def test_a_tiny_epsilon_is_refused_at_input_not_by_the_checker(tmp_path, capsys):
    # 1e-2000 = 1/10^2000, written "1/1000...0": 2 + 2001 = 2003 characters (hand count)
    assert len(f"1/{10 ** 2000}") == 2003
    assert run(["certify", FIG4, "--data", "uniform", "--epsilon", "1e-2000", "--regret", "4/5",
                "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "2003 characters" in err and "at most 2000" in err and "internal error" not in err
    # the largest accepted power, 1e-1998 ("1/" + 1999 digits = 2001 > 2000) is refused too; 1e-1997 is not
    assert run(["certify", FIG4, "--data", "uniform", "--epsilon", "1e-1997", "--regret", "4/5",
                "--out", str(tmp_path / "c.json")]) == 0
    assert checker.check_file(str(tmp_path / "c.json"))[0] == "verified"


@pytest.mark.parametrize("where", ["reward", "probability", "data"])
def test_long_fractions_in_files_are_refused_at_input(where, tmp_path, capsys):
    long = "0." + "0" * 1997 + "3"          # 2000 characters as a decimal; reduced "3/10^1998" has 2001
    assert len(long) == 2000 and len(f"3/{10 ** 1998}") == 2001
    document = model_to_document(rewardcert.load_model(str(EXAMPLES / "chain3.toml")).mdp)
    data = {"s0": {"left": "1/6", "right": "1/6"}, "s1": {"left": "1/6", "right": "1/6"},
            "s2": {"left": "1/6", "right": "1/6"}}
    if where == "reward":
        document["reward"]["s1"]["left"] = long
    elif where == "probability":
        document["transitions"]["s1"]["left"] = {"s0": str(1 - F(long)), "s1": long}
    else:
        data["s2"] = {"left": str(F(1, 6) - F(long)), "right": "1/6"}
        data["s1"]["right"] = str(F(1, 6) + F(long))
    document["data"] = data
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    assert run(["threshold", str(path), "--regret", "1/2"]) == 2
    err = capsys.readouterr().err
    assert "at most 2000" in err and str(path) in err and err.count("\n") == 1


LONG_DIGITS = st.integers(1, 1150)


@st.composite
def long_fraction(draw):
    numerator = draw(st.integers(1, 9)) * 10 ** (draw(LONG_DIGITS) - 1) + draw(st.integers(0, 99))
    denominator = draw(st.integers(1, 9)) * 10 ** (draw(LONG_DIGITS) - 1) + draw(st.integers(1, 99))
    return F(draw(st.sampled_from([1, -1])) * numerator, denominator)


@settings(max_examples=40, deadline=None)
@given(mdp=mdps(max_states=2, max_actions=2), long=long_fraction(), place=st.sampled_from(["reward", "gamma", "none"]),
       epsilon=st.one_of(st.integers(0, 2100).map(lambda k: f"1e-{k}"), st.sampled_from(["1/5", "1/50", "2/3"])),
       command=st.sampled_from(["certify", "threshold"]))
def test_whatever_the_loader_accepts_certifies_or_is_refused_with_exit_2(mdp, long, place, epsilon, command):
    """Never exit 70: a number too long for the checker is refused at input (or, if the engine
    derives one, before the certificate is written), both with exit 2."""
    import tempfile
    document = model_to_document(mdp)
    if place == "reward":
        state, action = mdp.states[0], mdp.actions[0]
        document["reward"][state][action] = f"{long.numerator}/{long.denominator}"
    elif place == "gamma" and mdp.gamma != 0:
        document["gamma"] = f"{abs(long.numerator) % long.denominator}/{long.denominator}"
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.json")
        with open(path, "w") as handle:
            json.dump(document, handle)
        argv = [command, path, "--data", "uniform", "--regret", "1/2", "--out", os.path.join(folder, "c.json")]
        if command == "certify":
            argv[4:4] = ["--epsilon", epsilon]
        stderr = io.StringIO()
        stdout = io.StringIO()
        old = sys.stderr, sys.stdout
        sys.stderr, sys.stdout = stderr, stdout
        try:
            code = run(argv)
        finally:
            sys.stderr, sys.stdout = old
        assert code in (0, 1, 2, 3), (code, stderr.getvalue()[-500:])
        if code == 2:
            assert "at most 2000" in stderr.getvalue() or "limit of 2000" in stderr.getvalue() \
                or "outside [0, 1)" in stderr.getvalue(), stderr.getvalue()[-500:]
        elif code in (0, 1):
            assert checker.check_file(os.path.join(folder, "c.json"))[0] == "verified"


def test_a_derived_number_past_the_limit_is_refused_before_writing(tmp_path):
    from rewardcert.symbolic.core.errors import ResourceLimit

    from rewardcert.certificates import check_number_sizes
    document = {"instance": {"epsilon": "1/5"}, "evidence": {"tree": {"values": {"s": "7/" + "3" * 2001}}}}
    with pytest.raises(ResourceLimit, match=r"evidence\.tree\.values\.s"):
        check_number_sizes(document)
    check_number_sizes({"instance": {"model": {"name": "x" * 5000}}})   # long names are not numbers
    # Deep in a list or a tuple (the quick scan and the walk that names the place see the same).
    deep = {"evidence": {"tree": {"children": {"a": [{"w": ("1/2", "-" + "9" * 2001)}]}}}}
    with pytest.raises(ResourceLimit, match=r"evidence\.tree\.children\.a\[0\]\.w\[1\]"):
        check_number_sizes(deep)
    # The writer scans its text for a long string first, and walks only then: the shortest numbers
    # past the limit must still be caught, and those at the limit pass.
    from rewardcert.certificates import certificate_text
    half = "9" * ((2000 - 1) // 2)
    for number in ("-" + half + "/" + half + "9", half + "9/" + half + "9", "-" + "7" * 2000):
        assert len(number) == 2001
        with pytest.raises(ResourceLimit, match=r"evidence\.w\[0\]"):
            certificate_text(tmp_path / "c.json", {"evidence": {"w": [number]}})
    for number in (half + "/" + half + "9", "-" + "7" * 1999):    # 2000 characters: fine
        assert len(number) == 2000
        assert certificate_text(tmp_path / "c.json", {"evidence": {"w": [number]}})


def test_fast_number_text_is_the_canonical_text():
    """``format_ratio`` (used for occupancy vectors) and ``format_rational`` without a copy write what
    ``Fraction``'s own reduced form gives, also past Python's 4300-digit ``str`` limit."""
    import random
    from fractions import Fraction as F

    from rewardcert.symbolic.core.numbers import format_ratio, format_rational
    rng = random.Random(3)
    for _ in range(2000):
        p, q = rng.randint(-10 ** 6, 10 ** 6), rng.choice([1, 2, 3, 2 ** 24, rng.randint(1, 10 ** 6)])
        value = F(p, q)
        text = str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        assert format_ratio(p, q) == format_rational(value) == format_rational(p if q == 1 else value) == text
    big = 10 ** 5000 + 1
    assert format_ratio(2 * big, 2) == format_rational(F(big)) and len(format_ratio(big, 3)) == 5003


# -- 3. a missing directory is an error ---------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["certify", FIG4, "--data", "uniform", "--epsilon", "1/5", "--regret", "4/5", "--out"],
    ["threshold", FIG4, "--data", "uniform", "--regret", "4/5", "-o"],
    ["safest", FIG4, "--regret", "4/5", "--out"],
])
def test_out_into_a_missing_directory_is_refused(argv, tmp_path, capsys):
    target = tmp_path / "no" / "such" / "c.json"
    assert main(argv + [str(target)]) == 2
    assert not (tmp_path / "no").exists(), "a directory was created"
    err = capsys.readouterr().err
    assert "does not exist" in err and "mkdir -p" in err


def test_theorems_out_creates_only_the_directory_itself(tmp_path, capsys):
    base = ["theorems", str(EXAMPLES / "example-d14.toml"), "--epsilon", "1/10", "--regret", "1/2"]
    assert main(base + ["--out", str(tmp_path / "missing" / "report")]) == 2
    assert not (tmp_path / "missing").exists()
    assert main(base + ["-o", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.md").exists()
    assert main(base + ["--out", "-"]) == 2
    assert "takes a directory" in capsys.readouterr().err


# -- 5, 6, 7. --version, "-" for stdin and stdout, -o/--out everywhere ----------------------------

def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rewardcert {rewardcert.__version__}"


def _stdin(monkeypatch, text: str):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_model_from_stdin_certificate_to_stdout(monkeypatch, capsys):
    _stdin(monkeypatch, (EXAMPLES / "figure4.toml").read_text())
    assert main(["certify", "-", "--data", "uniform", "--epsilon", "1/5", "--regret", "4/5", "--out", "-"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)                      # stdout holds only the certificate
    assert checker.check_document(document)[0] == "verified"
    assert "verdict: SAFE" in captured.err and "certificate: standard output" in captured.err


def test_data_and_certificate_from_stdin(monkeypatch, capsys):
    _stdin(monkeypatch, (EXAMPLES / "figure4-data-unsafe.toml").read_text())
    assert main(["certify", FIG4, "--data", "-", "--epsilon", "1/5", "--regret", "4/5"]) == 1
    capsys.readouterr()
    _stdin(monkeypatch, (ROOT / "proofs" / "instances" / "figure4-safe.json").read_text())
    assert main(["check", "-"]) == 0
    assert capsys.readouterr().out.startswith("VERIFIED: figure-4")
    _stdin(monkeypatch, "")
    assert main(["certify", "-", "--data", "-", "--epsilon", "1/5", "--regret", "4/5"]) == 2
    assert "only one input" in capsys.readouterr().err


def test_a_json_model_on_stdin_errors_name_stdin(monkeypatch, capsys):
    _stdin(monkeypatch, '{"format": "rewardcert/mdp-1", "gamma": 0.5}')
    assert main(["evaluate", "-"]) == 2
    assert capsys.readouterr().err.startswith("rewardcert: error: <stdin>:")


def test_every_command_that_writes_takes_o_and_out():
    parser = build_parser()
    commands = {name: sub for action in parser._actions if hasattr(action, "choices") and action.choices
                for name, sub in action.choices.items()}
    for name in ("certify", "threshold", "safest", "theorems", "plot"):
        strings = {s for action in commands[name]._actions for s in action.option_strings}
        assert {"-o", "--out"} <= strings, name
    assert "directory" in commands["theorems"].format_help()
    assert "DIR" in commands["theorems"].format_usage()


# -- 8. plot --data defaults to the model's [data] ----------------------------------------------

def test_plot_data_defaults_to_the_models_own_table(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.png"
    assert main(["plot", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--epsilon", "1/20",
                 "--slice", "s0:right", "s2:right", "--resolution", "10", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    # the base D is chain3.toml's own [data] table: read it from the file, not from the plot code
    import tomllib
    table = tomllib.loads((EXAMPLES / "chain3.toml").read_text())["data"]
    u, v = F(table["s0"]["right"]), F(table["s2"]["right"])
    assert f"base D at (u, v) = ({u}, {v})" in printed
    assert "data: the model's [data] table" in printed
    assert out.read_bytes().startswith(b"\x89PNG")


# -- 9, 20. theorems: the safest D printed, the toolkit's results labelled -----------------------

def test_theorems_without_out_prints_the_safest_distribution(capsys):
    assert main(["theorems", FIG4, "--data", "uniform", "--epsilon", "1/5", "--regret", "4/5"]) == 0
    printed = capsys.readouterr().out
    assert "safest.json" not in printed
    safest = rewardcert.safest_distribution(rewardcert.load_model(FIG4).mdp, F(4, 5))
    shown = re.search(r"a safest D: ([^;\n]*)", printed).group(1)
    parsed = dict(item.split("=") for item in shown.split(", "))
    mdp = rewardcert.load_model(FIG4).mdp
    expected = {f"{s}:{a}": str(p) for (s, a), p in ((mdp.pair_name(x), p) for x, p in enumerate(safest.data)) if p}
    assert parsed == expected


def test_theorems_label_the_toolkits_own_results(capsys):
    assert main(["theorems", CHATBOT, "--epsilon", "1/5", "--regret", "1/2"]) == 0
    printed = capsys.readouterr().out
    assert "Theorem E (the toolkit's" in printed and "Lemma C.15" in printed and "Theorem C.16" in printed
    assert "Safest data distribution (the toolkit's addition)" in printed
    assert "paper §7" not in printed
    # eps = 1/5 is far above Prop. 3.2's bound here, so its hypothesis holds only in part
    row = next(line for line in printed.splitlines() if line.startswith("Proposition 3.2 "))
    assert "partly" in row and "min D > 0: yes" in row and "eps < bound: no" in row


def test_theorems_json_names_the_parts_of_prop_3_2s_hypothesis(capsys):
    assert main(["theorems", CHATBOT, "--epsilon", "1/5", "--regret", "1/2", "--json"]) == 0
    row = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["result"] == "Proposition 3.2")
    # Prop. 3.2's bound here is below eps*(D) = 2/99 < 1/5, so "eps < bound" must fail
    assert row["hypothesis_parts"] == {"min D > 0": True, "eps < bound": False}
    assert row["hypothesis_holds"] is False


def test_prop_3_2_hypothesis_holds_fully_below_the_bound(capsys):
    report = rewardcert.theorem_instances(rewardcert.load_model(CHATBOT).mdp,
                                          rewardcert.load_model(CHATBOT).data, "1/100000", "1/2")
    row = next(c for c in report.checks if c.result == "Proposition 3.2")
    assert row.hypothesis_holds is True and row.hypothesis_mark == "yes"


# -- 10, 11. budgets: say that no certificate was written, and which flag ran out -----------------

def test_threshold_out_of_budget_says_no_certificate_was_written(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["threshold", GRID, "--data", "uniform", "--regret", "1/2", "--max-nodes", "0", "--out", str(out)]) == 3
    printed = capsys.readouterr().out
    # The stopped search certifies its interval (certificate-format §3.5), and says so.
    assert checker.check_file(str(out))[:1] == ("verified",) and "an interval certificate" in printed
    assert "--max-nodes 0 ran out" in printed
    assert "raise --max-nodes" in printed and "--timeout" not in printed


def test_certify_names_the_budget_that_ran_out(capsys):
    assert main(["certify", GRID, "--data", "uniform", "--epsilon", "1/100", "--regret", "1/2",
                 "--max-nodes", "0"]) == 3
    printed = capsys.readouterr().out
    assert "raise --max-nodes" in printed and "raise --timeout" not in printed


# -- 12. negative numbers ----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-1/10", "-0.1", "-1"])
def test_a_negative_epsilon_reaches_the_range_check(value, capsys):
    assert main(["certify", FIG4, "--data", "uniform", "--epsilon", value, "--regret", "4/5"]) == 2
    err = capsys.readouterr().err
    assert "epsilon must be > 0" in err and "expected one argument" not in err


def test_a_negative_regret_bound_reaches_the_range_check(capsys):
    assert main(["threshold", FIG4, "--data", "uniform", "--regret", "-4/5"]) == 2
    assert "0 < L <= 1" in capsys.readouterr().err


# -- 13, 14. the checker's --help, check's one line of facts -------------------------------------

def test_the_standalone_checker_prints_usage():
    done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: checker.py")
    bad = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), "--frobnicate"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown option" in bad.stderr and "FileNotFoundError" not in bad.stderr


@pytest.mark.parametrize("name, expected", [
    ("figure4-safe.json", "VERIFIED: figure-4: SAFE at eps = 1/5 (= 0.2), L = 4/5, so eps*(D) > 1/5"),
    ("figure4-unsafe.json", "VERIFIED: figure-4: UNSAFE at eps = 1/5 (= 0.2), L = 4/5, so eps*(D) <= 1/5"),
    ("chatbot-threshold.json", "VERIFIED: chatbot (Appendix B.4, N = 3, C = 10): eps*(D) = 2/99 (≈ 0.0202) "
                               "exactly at L = 1/2"),
])
def test_check_says_what_it_verified(name, expected, capsys):
    path = ROOT / "proofs" / "instances" / name
    assert main(["check", str(path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(expected) and "\n" not in line
    # the facts come from the certificate itself
    document = json.loads(path.read_text())
    assert document["instance"]["model"]["name"] in line and document["instance"]["epsilon"] in line


# -- 15. readable output -------------------------------------------------------------------------

def test_decimals_beside_fractions():
    from rewardcert.symbolic.core.numbers import approximate, with_decimal
    assert with_decimal(F(2, 99)) == "2/99 (≈ 0.0202)"      # 2/99 = 0.020202...
    assert with_decimal(F(1, 5)) == "1/5 (= 0.2)"
    assert with_decimal(F(-7, 3)) == "-7/3 (≈ -2.33)"
    assert with_decimal(3) == "3" and with_decimal(None) == "inf"
    assert approximate(F(10 ** 400 + 1, 3)) == "3.33e399"  # no float overflow
    assert approximate(F(1, 8)) == "0.125"


def test_threshold_prints_decimals(capsys):
    assert main(["threshold", CHATBOT, "--regret", "1/2"]) == 0
    assert "critical error eps*(D) = 2/99 (≈ 0.0202)" in capsys.readouterr().out


def test_policy_counts_are_short():
    from rewardcert.symbolic.core.numbers import power_text
    assert power_text(4, 16) == "4^16 ≈ 4.3e9"               # 4^16 = 4294967296
    assert power_text(4, 3) == "64"
    for base, exponent in ((4, 650), (3, 1000), (7, 401)):      # past 1e300: the mantissa comes from log10
        digits = str(base ** exponent)
        from decimal import Context, Decimal
        mantissa = Context(prec=2).create_decimal(Decimal(digits[:20]) / Decimal(10) ** 19)
        assert power_text(base, exponent) == f"{base}^{exponent} ≈ {mantissa}e{len(digits) - 1}"


def test_evaluate_states_the_policy_count_as_a_power(capsys):
    assert main(["evaluate", GRID]) == 0
    assert "4^16 ≈ 4.3e9 deterministic policies" in capsys.readouterr().out


def _chain_model(n: int) -> dict:
    """An n-state chain with awkward probabilities (long exact values), as a model document."""
    states = [f"s{i}" for i in range(n)]
    transitions = {s: {"stay": {s: "1"}, "go": {states[i + 1]: "7/9", s: "2/9"} if i + 1 < n else {s: "1"}}
                   for i, s in enumerate(states)}
    primes = [q for q in range(2, 10 * n) if all(q % d for d in range(2, int(q ** 0.5) + 1))][:n]
    reward = {s: {"stay": "0", "go": f"1/{primes[i]}"} for i, s in enumerate(states)}
    return {"format": "rewardcert/mdp-1", "name": f"chain-{n}", "gamma": "97/100", "states": states,
            "actions": ["stay", "go"], "initial": {"s0": "1"}, "reward": reward, "transitions": transitions}


def test_evaluate_summarises_big_models(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_chain_model(300)))
    assert main(["evaluate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) < 400, max(map(len, lines))
    assert "2^300 ≈" in lines[0]
    assert main(["evaluate", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["optimal_policy"]) == 300               # --json still has everything
    exact = F(document["optimal_return"])
    summary = next(line for line in lines if line.startswith("J* "))
    from decimal import Decimal
    length = len(f"{exact.numerator}/{exact.denominator}")
    assert length > 60 and "in --json" in summary
    claimed = int(re.search(r"(\d+) characters", summary).group(1))
    assert abs(claimed - length) <= 0.01 * length + 2, (claimed, length)
    shown = Decimal(re.search(r"≈ ([-\d.e]+)", summary).group(1))
    assert abs(Decimal(exact.numerator) / Decimal(exact.denominator) - shown) <= abs(shown) * Decimal("0.01")


def _bandit(actions: int) -> str:
    """One state, ``actions`` arms: arm 0 pays 1, the others 0; data puts 1/2 on arm 0."""
    names = [f"a{j}" for j in range(actions)]
    rewards = "\n".join(f'{a} = {1 if j == 0 else 0}' for j, a in enumerate(names))
    rest = F(1, 2 * (actions - 1))
    data = "\n".join(f'{a} = "{F(1, 2) if j == 0 else rest}"' for j, a in enumerate(names))
    return (f'format = "rewardcert/mdp-1"\nname = "bandit"\ngamma = 0\nstates = ["s"]\n'
            f'actions = {json.dumps(names)}\ninitial = {{ s = "1" }}\n[reward.s]\n{rewards}\n[data.s]\n{data}\n')


def test_witness_table_shows_changed_rows_only_above_20_pairs(tmp_path, capsys):
    path = tmp_path / "bandit.toml"
    path.write_text(_bandit(25))
    assert main(["threshold", str(path), "--regret", "1"]) == 0
    printed = capsys.readouterr().out
    assert main(["threshold", str(path), "--regret", "1", "--json"]) == 0
    witness = json.loads(capsys.readouterr().out)["witness"]["reward"]["s"]
    reward = {f"a{j}": F(1 if j == 0 else 0) for j in range(25)}
    changed = sorted(a for a, v in witness.items() if F(v) != reward[a])
    rows = sorted(line.split()[1] for line in printed.splitlines() if line.startswith("  s  "))
    assert rows == changed and 0 < len(changed) < 25
    assert f"({25 - len(changed)} of 25 pairs where R^ = R not shown; --all-rows shows them)" in printed
    assert main(["threshold", str(path), "--regret", "1", "--all-rows"]) == 0
    assert sum(line.startswith("  s  ") for line in capsys.readouterr().out.splitlines()) == 25
    assert main(["threshold", CHATBOT, "--regret", "1/2", "--changed-only"]) == 0
    assert "pairs where R^ = R not shown" in capsys.readouterr().out


# -- 16. the README's command table lists every option -------------------------------------------

def _readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("| command | does | exit status |"):]
    rows = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("| `rewardcert "):
            break
        command = line.split("`")[1]
        words = command.split()
        rows[words[1]] = command
        if len(words) > 2 and words[2].islower() and words[2].isalpha():
            rows[f"{words[1]} {words[2]}"] = command      # a nested command: import gymnasium, export prism
    return rows


def _commands(parser) -> dict:
    """Every command, nested ones (``import prism``) by their two words."""
    subcommands = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    out = {}
    for name, sub in subcommands.choices.items():
        nested = [a for a in sub._actions if isinstance(a, type(subcommands))]
        if nested:
            out.update({f"{name} {inner}": p for inner, p in nested[0].choices.items()})
        else:
            out[name] = sub
    return out


def test_readme_command_table_lists_every_option():
    parser = build_parser()
    rows = _readme_rows()
    commands = _commands(parser)
    assert set(commands) <= set(rows), "a command is missing from the README table"
    for name, sub in commands.items():
        shown = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", rows[name]))
        known = set()
        for action in sub._actions:
            if "-h" in action.option_strings:
                continue
            known.update(action.option_strings)
            assert shown & set(action.option_strings) or not action.option_strings, \
                f"README row of {name} misses {action.option_strings[-1]}"
        assert shown <= known, f"README row of {name} names options {shown - known} that {name} lacks"
    top = {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}
    top_row = next(line for line in (ROOT / "README.md").read_text().splitlines()
                   if line.startswith("| `rewardcert --version`"))
    assert top <= set(re.findall(r"--[a-z]+", top_row)), top


# -- 17. the Python API reads numbers like the CLI -------------------------------------------

def test_api_accepts_exact_numbers_and_refuses_floats():
    loaded = rewardcert.load_model(FIG4)
    D = rewardcert.uniform_distribution(loaded.mdp)
    expected = F(1, 3)                                       # README: eps*(uniform) = 1/3 at L = 4/5
    for L in ("4/5", "0.8", F(4, 5)):
        assert rewardcert.critical_epsilon(loaded.mdp, D, L).critical_epsilon == expected
    assert rewardcert.critical_epsilon(loaded.mdp, ["1/5", 0, "0.8"], 1).critical_epsilon is not None
    result = rewardcert.critical_epsilon(loaded.mdp, D, "4/5")
    assert result.verdict("0.3") is rewardcert.Verdict.SAFE and result.verdict(1) is rewardcert.Verdict.UNSAFE
    assert result.verdict("1/3") is rewardcert.Verdict.UNSAFE
    # a float is refused with the message the CLI gives for a float in a model file
    from rewardcert.symbolic.core.numbers import parse_rational
    with pytest.raises(rewardcert.RewardcertError) as cli_error:
        parse_rational(0.8)
    for call in (lambda: rewardcert.critical_epsilon(loaded.mdp, D, 0.8),
                 lambda: result.verdict(0.3 + 0.5),
                 lambda: rewardcert.theorem_instances(loaded.mdp, D, 0.2, "4/5"),
                 lambda: rewardcert.critical_epsilon(loaded.mdp, [0.2, 0.3, 0.5], "4/5")):
        with pytest.raises(rewardcert.RewardcertError) as error:
            call()
        assert "floating-point number, which is inexact; quote it instead" in str(error.value)
    assert "floating-point number, which is inexact; quote it instead" in str(cli_error.value)
    assert rewardcert.safest_distribution(loaded.mdp, "4/5").max_critical_epsilon == F(1, 2)
    matrix = rewardcert.safety_matrix(loaded.mdp, "0.8")
    assert matrix.is_safe(["1/3", "1/3", "1/3"], "1/5") is True            # eps*(uniform) = 1/3 > 1/5
    assert matrix.critical_epsilon(["1/3", 0, "2/3"]) == rewardcert.critical_epsilon(
        loaded.mdp, (F(1, 3), F(0), F(2, 3)), F(4, 5)).critical_epsilon      # M against the engine
    with pytest.raises(rewardcert.RewardcertError, match="floating-point"):
        matrix.is_safe(D, 0.2)


# -- 18. the pytest plugin warns about certificates it does not collect -------------------------

def test_plugin_warns_when_a_pattern_matches_uncollected_files(tmp_path):
    good = (ROOT / "proofs" / "instances" / "figure4-safe.json").read_text()
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "good.json").write_text(good)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_nothing.py").write_text("def test_ok():\n    assert True\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n"
                                         "rewardcert_certificates =\n    certs/*.json\n    missing/*.json\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout
    assert "RewardcertPluginWarning" in done.stdout
    assert "certs/good.json" in done.stdout and "not collected" in done.stdout
    assert "'missing/*.json' matches no .json file" in done.stdout
    # with the folder collected there is nothing to warn about
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests certs\nrewardcert_certificates = certs/*.json\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "2 passed" in done.stdout and "RewardcertPluginWarning" not in done.stdout


# -- 19-22. the docs say only what the paper says ------------------------------------------------

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_no_doc_attributes_the_safest_distribution_to_the_paper():
    for path in DOCS + [ROOT / "rewardcert" / "theorem_checks" / "exact.py"]:
        text = path.read_text()
        assert "open question" not in text, path
        assert "paper §7" not in text and "paper's §7" not in text, path


def test_plots_doc_says_the_edge_endpoints_are_unsafe():
    text = (ROOT / "docs" / "plots.md").read_text()
    assert "only as an open segment" in text and "endpoints `(1/5, 0)` and `(4/5, 0)`" in text
    # the exact engine agrees: each endpoint has eps*(D) = 1/5 = eps (unsafe), the midpoint more
    mdp = rewardcert.load_model(FIG4).mdp
    for d1 in (F(1, 5), F(4, 5)):
        assert rewardcert.critical_epsilon(mdp, (d1, 0, 1 - d1), "4/5").critical_epsilon == F(1, 5)
    assert rewardcert.critical_epsilon(mdp, ("1/2", 0, "1/2"), "4/5").critical_epsilon > F(1, 5)


PAPER_RESULTS = ["Proposition 3.1", "Proposition 3.2", "Proposition 3.3", "Corollary 3.4", "Theorem 3.5",
                 "Proposition 4.1", "Theorem 4.2", "Proposition 5.1", "Proposition 5.2", "Proposition 5.3",
                 "Theorem 6.1"]


def test_the_coverage_page_lists_every_main_text_result():
    paper = (ROOT.parent.parent / "shared" / "paper" / "perils-of-optimizing-learned-reward-functions.txt")
    coverage = (ROOT / "docs" / "paper-coverage.md").read_text()
    if paper.exists():   # the paper's own labels, read from its text
        text = paper.read_text(errors="replace")
        found = set(re.findall(r"^((?:Proposition|Theorem|Corollary) [3-6]\.\d+)\. ", text, re.M))
        assert found == set(PAPER_RESULTS), found ^ set(PAPER_RESULTS)
    for label in PAPER_RESULTS:
        assert label in coverage, label
    covered = coverage[coverage.index("## Covered (paper §3"):coverage.index("## The toolkit's own")]
    not_yet = coverage[coverage.index("## Not yet covered"):]
    for label in PAPER_RESULTS:             # §3 to §6 are all covered now
        assert label in covered and label not in not_yet


def test_every_theorems_row_is_on_the_coverage_page():
    coverage = (ROOT / "docs" / "paper-coverage.md").read_text()
    mdp = rewardcert.load_model(FIG4).mdp
    report = rewardcert.theorem_instances(mdp, rewardcert.uniform_distribution(mdp), "1/5", "4/5")
    for check in report.checks:
        label = check.result.split(" (")[0]
        assert label in coverage or label.startswith("Safest"), label
        if "toolkit" in check.result:
            assert "toolkit" in check.statement


# -- 16. shell completion (optional: argcomplete) ---------------------------------------------------

def test_completion_answers_a_shell_request(tmp_path):
    pytest.importorskip("argcomplete")
    answer = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": "rewardcert certify --ep", "COMP_POINT": "23",
           "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    done = subprocess.run([sys.executable, "-m", "rewardcert"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert answer.read_text().split() == ["--epsilon"]


def test_without_argcomplete_the_command_still_runs(monkeypatch, capsys):
    from rewardcert import completion
    monkeypatch.setitem(sys.modules, "argcomplete", None)       # import fails
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    assert completion.enable(build_parser()) is False
    monkeypatch.delenv("_ARGCOMPLETE")
    assert main(["check", str(ROOT / "proofs" / "instances" / "figure4-safe.json")]) == 0


# -- 6. a picture on standard output -----------------------------------------------------------------

def test_plot_to_stdout_writes_png_bytes_and_reports_on_stderr(capsysbinary):
    pytest.importorskip("matplotlib")
    assert main(["plot", FIG4, "--regret", "4/5", "--epsilon", "1/5", "--resolution", "10", "--out", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"wrote the picture to standard output" in captured.err


def test_a_derived_long_epsilon_still_gets_a_verdict():
    """The API's size limit is for text; an exact Fraction (e.g. Prop. 3.2's eps0) passes."""
    mdp = rewardcert.load_model(FIG4).mdp
    result = rewardcert.critical_epsilon(mdp, rewardcert.uniform_distribution(mdp), "4/5")
    tiny = F(1, 10 ** 2500)
    assert result.verdict(tiny) is rewardcert.Verdict.SAFE
    with pytest.raises(rewardcert.RewardcertError, match="at most 2000"):
        result.verdict(f"1/{10 ** 2500}")


@settings(max_examples=200, deadline=None)
@given(numerator_digits=st.integers(1, 2100), denominator_digits=st.integers(1, 2100), lead=st.integers(1, 9),
       sign=st.sampled_from([1, -1]))
def test_the_size_check_refuses_exactly_the_fractions_longer_than_the_limit(numerator_digits, denominator_digits,
                                                                            lead, sign):
    from rewardcert.symbolic.core.errors import ModelError
    from rewardcert.symbolic.core.numbers import check_size
    value = F(sign * (lead * 10 ** (numerator_digits - 1) + 7), lead * 10 ** (denominator_digits - 1) + 3)
    text = str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if len(text) > 2000:
        with pytest.raises(ModelError, match="at most 2000"):
            check_size(value)
    else:
        assert check_size(value) == value


def test_size_errors_state_counts_briefly(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_chain_model(300)))
    assert main(["matrix", str(path), "--regret", "1/2"]) == 2
    err = capsys.readouterr().err
    # matrix refuses the bases count (checked first, before listing policies) briefly too
    assert "C(600, 300) ≈ 1.4e179 bases" in err and str(2 ** 300) not in err
    assert len(err) < 200
    from math import comb

    from rewardcert.symbolic.core.numbers import equals_count
    assert equals_count(comb(6, 2)) == "= 15" and equals_count(comb(64, 16)) == "≈ 4.9e14"  # C(64,16) = 4.89e14


def test_the_producer_knows_the_checkers_size_limits():
    from rewardcert import certificates
    assert (certificates.CHECKER_MAX_STATES, certificates.CHECKER_MAX_ACTIONS, certificates.CHECKER_MAX_PAIRS,
            certificates.CHECKER_MAX_BYTES) == (checker.MAX_STATES, checker.MAX_ACTIONS, checker.MAX_PAIRS,
                                                checker.MAX_BYTES)


def test_a_model_too_large_for_the_checker_is_refused_before_the_search(tmp_path, capsys):
    """1001 actions load fine (the loader allows 10,000) but the checker reads at most 1000: with
    --out that was an internal error after the whole search; now it is exit 2 at once."""
    path = tmp_path / "bandit.toml"
    path.write_text(_bandit(checker.MAX_ACTIONS + 1))
    out = tmp_path / "c.json"
    assert main(["certify", str(path), "--epsilon", "1/5", "--regret", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "accepts at most 1000" in captured.err and "search:" not in captured.out and not out.exists()
    assert main(["safest", str(path), "--regret", "1", "--out", str(out)]) == 2
    assert "accepts at most 1000" in capsys.readouterr().err
