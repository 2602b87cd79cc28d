"""Start-up stays light: the command line loads no optional heavy library until a command needs it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("sympy", "z3", "pulp", "matplotlib", "numpy", "highspy", "numba")


def loaded_after(code: str) -> set[str]:
    """The heavy top-level modules present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = code + f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cli_import_loads_no_heavy_library():
    assert loaded_after("import rewardcert.cli") == set()


RUN = "import contextlib, io\nfrom rewardcert.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"


def test_small_evaluate_loads_no_heavy_library():
    # A small exact evaluation needs FLINT only.
    assert loaded_after(RUN + "    assert main(['evaluate', 'examples/figure4.toml']) == 0\n") == set()


def test_small_certify_loads_only_numpy():
    # The search pivots in numpy floats and decides exactly (symbolic/guidance/floatlp.py), so numpy is the
    # one library it loads (about 0.07 s); sympy, the solvers and matplotlib stay unloaded.
    code = RUN + ("    assert main(['certify', 'examples/figure4.toml', '--data', 'examples/figure4-data.toml',"
                  " '--epsilon', '1/10', '--regret', '4/5']) in (0, 1)\n")
    assert loaded_after(code) == {"numpy"}


def test_a_long_search_loads_the_compiled_loops_and_a_short_one_does_not():
    # numba (symbolic/guidance/jitkernels.py) is loaded once a search has run KERNEL_AFTER float solves.
    pytest.importorskip("numba")
    search = ("    from fractions import Fraction as F\n"
              "    from benchmarks.common import random_mdp, random_distribution\n"
              "    from rewardcert.symbolic.search.engine import critical_epsilon\n"
              "    import rewardcert.symbolic.guidance.floatjit as floatjit\n"
              "    floatjit.KERNEL_AFTER = {after}\n"
              "    mdp = random_mdp(5, 6, 3)\n"
              "    assert critical_epsilon(mdp, random_distribution(6, mdp), F(1, 2)).complete\n")
    assert "numba" in loaded_after(RUN + search.format(after=1))
    assert "numba" not in loaded_after(RUN + search.format(after=10 ** 9))


def test_latex_still_loads_sympy_on_demand():
    # The lazy import must still work where sympy is actually used.
    assert "sympy" in loaded_after(
        "from fractions import Fraction as F\nfrom rewardcert.symbolic.paper.closed_form import Proposition32\n"
        "p = Proposition32(F(1), F(1, 2), F(1), F(1), F(1), F(1))\nassert 'sqrt' in p.latex()")
