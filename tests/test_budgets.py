"""--timeout on `matrix` and `safest` (issue 9): a budget that runs out reports what is known, exit 3,
and never a claim it has not proved."""

from __future__ import annotations

import json
from fractions import Fraction as F

from rewardcert.cli import main
from symbolic.io import load_model
from symbolic.paper import safest_distribution

from .conftest import EXAMPLES


def test_matrix_timeout_reports_an_incomplete_m(capsys):
    code = main(["matrix", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--timeout", "0.000001", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["complete"] is False and "incomplete" in doc["message"]
    # With time enough, the same command builds M.
    assert main(["matrix", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--timeout", "120"]) == 0


def test_safest_timeout_brackets_eps_star_star(capsys):
    chatbot = load_model(EXAMPLES / "chatbot.toml").mdp
    exact = safest_distribution(chatbot, F(1, 2)).max_critical_epsilon      # 5/22 (README)
    stopped = safest_distribution(chatbot, F(1, 2), max_seconds=0.0)
    assert not stopped.complete and stopped.lower == 0
    assert stopped.upper is None or exact <= stopped.upper
    # A budget that allows some cutting planes but not all still brackets the exact value.
    for budget in (0.05, 0.2):
        partial = safest_distribution(chatbot, F(1, 2), max_seconds=budget)
        if partial.complete:
            assert partial.max_critical_epsilon == exact
        else:
            assert partial.lower <= exact and (partial.upper is None or exact <= partial.upper)
    code = main(["safest", str(EXAMPLES / "chatbot.toml"), "--regret", "1/2", "--timeout", "0.000001"])
    out = capsys.readouterr().out
    assert code == 3 and "eps** in [" in out and "raise --timeout" in out
