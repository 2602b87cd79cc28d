"""Bounded rigorous arithmetic at λ > 0: tiny data weights, deep box trees, budgets and signals.

A data weight of 10^-9 lets the root box move a reward by ``ε range R / D(x)``, about 4·10^9.
The soft optimum of such a box involves ``exp(8·10^10)``; converting its ball to exact
rationals once built a 10^10-bit power of two, which no budget could interrupt.  These tests
run the commands in a child process under a 1 GiB address-space limit, so a regression shows
as a ``MemoryError`` (exit 70) or a time-out rather than as a stalled test machine.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from fractions import Fraction as F

import mpmath
import pytest
from rewardcert.proofs import checker
from rewardcert.symbolic.regularised.boxes import MAX_BOX_DEPTH, _assemble
from rewardcert.symbolic.regularised.results import BoxLeaf
from rewardcert.symbolic.rigorous import enclosures as rg

from tests.conftest import ROOT

BANDIT = """format = "rewardcert/mdp-1"
name = "tiny-weight bandit"
states = ["s"]
actions = ["a", "b"]
gamma = "0"
initial = {{ s = "1" }}
[reward.s]
a = "{a}"
b = "{b}"
"""

TINY_DATA = """format = "rewardcert/data-1"
[data]
s = { a = "1/1000000000", b = "999999999/1000000000" }
"""

GIB = 1 << 30


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


def _run(argv, timeout=30, **options):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rewardcert", *argv], capture_output=True, text=True,
                          preexec_fn=_limited, timeout=timeout, **options)
    return done, time.monotonic() - start


@pytest.fixture
def tiny(tmp_path):
    model = tmp_path / "m.toml"
    model.write_text(BANDIT.format(a=4, b=0))
    data = tmp_path / "d.toml"
    data.write_text(TINY_DATA)
    return str(model), str(data)


# -- the enclosure conversion -----------------------------------------------------------------

def test_a_ball_far_below_the_range_rounds_outward_without_a_giant_fraction():
    # In a child under the memory limit: the old conversion would build 2^-(1.2e11) here.
    script = ("import time; from flint import arb; from rewardcert.symbolic.rigorous import enclosures as rg\n"
              "with rg.Precision():\n"
              "    tiny = 1 / (1 + arb(8 * 10 ** 10).exp())\n"
              "    start = time.monotonic(); e = rg.bounds(tiny)\n"
              "print(time.monotonic() - start, e.lower, e.upper.denominator.bit_length() - 1)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=_limited,
                          timeout=60, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-300:]
    seconds, lower, upper_bits = done.stdout.split()
    assert float(seconds) < 0.1
    assert lower == "0" and int(upper_bits) == rg.MAGNITUDE_BITS
    # the true value, about e^(-8e10), is inside [0, 2^-MAGNITUDE_BITS]
    with mpmath.workprec(200):
        assert mpmath.exp(-8 * 10 ** 10) <= mpmath.mpf(2) ** -rg.MAGNITUDE_BITS


def test_a_huge_ball_keeps_its_inner_end_and_refuses_an_infinite_one():
    script = ("from flint import arb; from rewardcert.symbolic.rigorous import enclosures as rg\n"
              "with rg.Precision():\n"
              "    huge = arb(10 ** 10).exp()\n"
              "    for x in (huge, -huge):\n"
              "        try:\n"
              "            rg.bounds(x); print('finite')\n"
              "        except rg.EnclosureOverflow:\n"
              "            print('overflow')\n"
              "    small = rg.bounds(1 / huge)\n"
              "print(small.lower, small.upper.denominator.bit_length() - 1, small.upper.numerator)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=_limited,
                          timeout=60, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-300:]
    # exp(1e10)'s upper end and -exp(1e10)'s lower end would have to be infinite: refused, not guessed
    assert done.stdout.split("\n")[:2] == ["overflow", "overflow"]
    # its reciprocal rounds outward to [0, 2^-MAGNITUDE_BITS]
    assert done.stdout.split("\n")[2].split() == ["0", str(rg.MAGNITUDE_BITS), "1"]


@pytest.mark.parametrize("x", ["1/3", "-7/2", "12345678/1000", "1/1000000000000"])
def test_ordinary_balls_convert_exactly_as_midpoint_plus_minus_radius(x):
    with rg.Precision():
        ball = rg.ball(F(x)).exp()
        enclosure = rg.bounds(ball)
    mid_man, mid_exp = (int(v) for v in ball.mid().man_exp())
    rad_man, rad_exp = (int(v) for v in ball.rad().man_exp())
    mid, rad = F(mid_man) * F(2) ** mid_exp, F(rad_man) * F(2) ** rad_exp
    assert (enclosure.lower, enclosure.upper) == (mid - rad, mid + rad)
    with mpmath.workdps(200):       # the enclosure is about 77 digits tight
        value = mpmath.exp(mpmath.mpf(F(x).numerator) / F(x).denominator)
        assert mpmath.mpf(enclosure.lower.numerator) / enclosure.lower.denominator <= value
        assert value <= mpmath.mpf(enclosure.upper.numerator) / enclosure.upper.denominator


# -- deep box trees ------------------------------------------------------------------------------

def test_a_box_tree_deeper_than_the_recursion_limit_assembles():
    depth = sys.getrecursionlimit() * 3
    leaf = BoxLeaf((F(0),), (F(1),), "far", F(1))
    nodes = {}
    for level in range(depth):
        nodes[2 * level] = ["split", 0, F(level), 2 * level + 1, 2 * level + 2]
        nodes[2 * level + 1] = ["leaf", leaf]
    nodes[2 * depth] = ["leaf", leaf]
    tree = _assemble(nodes, 0)
    seen = 0
    while isinstance(tree, tuple):
        assert tree[2] == seen and tree[3] is leaf
        tree, seen = tree[4], seen + 1
    assert seen == depth and tree is leaf


# -- the commands, end to end ---------------------------------------------------------------------

def test_a_tiny_data_weight_ends_within_the_timeout_and_memory(tiny, tmp_path):
    model, data = tiny
    out = tmp_path / "c.json"
    done, seconds = _run(["threshold", model, "--data", data, "--regret", "1", "--lambda", "1/10",
                          "--timeout", "2", "--json", "--out", str(out)])
    assert done.returncode == 3, done.stderr
    assert seconds < 10
    document = json.loads(done.stdout)
    # L = 1 cannot be reached by a full-support optimum, so no witness exists; the lower end is certified
    assert document["critical_error"]["upper"] is None
    low = F(document["critical_error"]["lower"])
    assert low > 0
    status, _, facts = checker.check_file(str(out))
    assert status == "verified"


def test_tiny_weights_still_find_the_cheap_witness(tiny):
    model, data = tiny
    done, seconds = _run(["certify", model, "--data", data, "--regret", "1/2", "--lambda", "1/10",
                          "--epsilon", "1/100", "--timeout", "5", "--json"])
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    # Lowering R(a) = 4 below R(b) = 0 costs about 4 * 1e-9 / range R = 1e-9 of error
    assert F(document["critical_error"]["upper"]) < F(2, 10 ** 9)
    assert seconds < 10


def test_the_rlhf_instance_that_recursed_now_gets_a_verdict(tmp_path):
    model = tmp_path / "two.toml"
    model.write_text(BANDIT.format(a=-4, b=1))
    done, _ = _run(["certify", str(model), "--data", "reference", "--error", "preference", "--lambda", "1/2",
                    "--regret", "1/10", "--epsilon", "17956828318603/704589114321488", "--json"])
    assert done.returncode in (0, 1, 3), done.stderr
    document = json.loads(done.stdout)
    low, high = F(document["critical_error"]["lower"]), F(document["critical_error"]["upper"])
    assert low <= F(17956828318603, 704589114321488) <= high or document["verdict"] != "unknown"


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_lambda_search_within_a_second(signum, status, tmp_path):
    # A 2x3 bandit whose box search runs for the whole minute unless stopped.
    model = tmp_path / "m.toml"
    model.write_text('format = "rewardcert/mdp-1"\nstates = ["s", "t"]\nactions = ["a", "b", "c"]\n'
                     'gamma = "0"\ninitial = { s = "1/2", t = "1/2" }\n'
                     '[reward]\ns = { a = "3", b = "-1", c = "0" }\nt = { a = "-2", b = "4", c = "1" }\n'
                     '[data]\ns = { a = "1/1000000000000", b = "1/3", c = "999999999994/6000000000000" }\n'
                     't = { a = "1/6", b = "1/6", c = "1/6" }\n')
    child = subprocess.Popen([sys.executable, "-m", "rewardcert", "threshold", str(model), "--regret", "1/2",
                              "--lambda", "1/10", "--timeout", "60"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=_limited)
    time.sleep(3)
    assert child.poll() is None, "the search should still be running"
    sent = time.monotonic()
    child.send_signal(signum)
    out, err = child.communicate(timeout=30)
    assert time.monotonic() - sent < 1.5
    assert child.returncode == status, err
    assert "regularised critical error eps*_lambda(D) in [" in out


def test_the_depth_limit_is_documented():
    text = (ROOT / "docs" / "regularised.md").read_text()
    assert f"at most {MAX_BOX_DEPTH} nested splits" in text
