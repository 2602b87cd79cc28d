"""Start-up stays light: the command line loads no optional heavy library until a command needs it."""

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("sympy", "z3", "pulp", "matplotlib", "numpy", "highspy")


def loaded_after(code: str) -> set[str]:
    """The heavy top-level modules present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = code + f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cli_import_loads_no_heavy_library():
    assert loaded_after("import rewardcert.cli") == set()


def test_small_evaluate_and_certify_load_no_heavy_library():
    # A small exact run needs FLINT only; sympy, the solvers and matplotlib stay unloaded.
    code = ("import contextlib, io\nfrom rewardcert.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['evaluate', 'examples/figure4.toml']) == 0\n"
            "    assert main(['certify', 'examples/figure4.toml', '--data', 'examples/figure4-data.toml',"
            " '--epsilon', '1/10', '--regret', '4/5']) in (0, 1)\n")
    assert loaded_after(code) == set()


def test_latex_still_loads_sympy_on_demand():
    # The lazy import must still work where sympy is actually used.
    assert "sympy" in loaded_after(
        "from fractions import Fraction as F\nfrom symbolic.bounds import Proposition32\n"
        "p = Proposition32(F(1), F(1, 2), F(1), F(1), F(1), F(1))\nassert 'sqrt' in p.latex()")
