"""Size checks of `matrix` made before any long enumeration (issue 9)."""

from fractions import Fraction as F

import pytest
from rewardcert.symbolic.core.errors import ResourceLimit

from benchmarks.common import random_mdp


def test_matrix_refuses_too_many_bases_before_enumerating_policies(monkeypatch):
    # Issue 9: the bases count used to be checked only after listing every policy.
    from rewardcert.symbolic.paper import matrix
    mdp = random_mdp(21, 12, 4)                  # C(48, 12) bases, 4^12 policies
    calls = []
    monkeypatch.setattr(matrix, "high_regret_policies", lambda *a, **k: calls.append(1) or ())
    with pytest.raises(ResourceLimit, match="bases"):
        matrix.safety_matrix(mdp, F(1, 2))
    assert calls == []


@pytest.mark.parametrize("seed,n,m", [(303, 3, 3), (204, 2, 4), (305, 3, 2), (125, 1, 5)])
def test_prefiltered_redundancy_marks_the_same_rows_as_one_lp_per_row(seed, n, m):
    from rewardcert.symbolic.paper.matrix import (
        mark_redundant_rows,
        safety_matrix,
        witnessed_irredundant,
    )
    M = safety_matrix(random_mdp(seed, n, m), F(1, 2), mark_redundant=False)
    fast = mark_redundant_rows(M.rows)
    slow = mark_redundant_rows(M.rows, prefilter=False)
    assert [r.redundant for r in fast] == [r.redundant for r in slow]
    if len(M.rows) > 2:
        assert witnessed_irredundant(M.rows)   # the prefilter did some of the work


# -- the floating pre-filter: HiGHS hints, every mark confirmed exactly ------------------

REDUNDANT_CASES = [(303, 3, 3), (7, 3, 3), (11, 2, 4), (403, 4, 2), (205, 2, 5)]


def _exact_marks(rows):
    from rewardcert.symbolic.paper.matrix import mark_redundant_rows
    return [r.redundant for r in mark_redundant_rows(rows, prefilter=False)]


@pytest.fixture(scope="module")
def cases():
    """Rows of M (unmarked) and their marks from one dense exact LP per row, per instance."""
    from rewardcert.symbolic.paper.matrix import safety_matrix
    out = []
    for seed, n, m in REDUNDANT_CASES:
        rows = safety_matrix(random_mdp(seed, n, m), F(1, 2), mark_redundant=False).rows
        out.append((rows, _exact_marks(rows)))
    return out


def test_the_cases_have_redundant_and_irredundant_rows(cases):
    # Otherwise the tests below could not tell a wrong mark from a right one.
    assert sum(any(marks) for _, marks in cases) >= 3
    assert all(not all(marks) for _, marks in cases)


def test_floating_hints_give_the_exact_marks_with_few_dense_lps(cases, monkeypatch):
    from rewardcert.symbolic.paper import matrix
    dense = []
    original = matrix._redundancy_lp

    def counted(rows, k, others):
        if len(others) == len(rows) - 1:
            dense.append(k)
        return original(rows, k, others)
    monkeypatch.setattr(matrix, "_redundancy_lp", counted)
    for rows, marks in cases:
        assert [r.redundant for r in matrix.mark_redundant_rows(rows)] == marks
    # the hints did the work: almost no row needed the dense exact LP
    assert len(dense) <= 2


class _Lying:
    """A hint solver that says the opposite of the truth, with plausible-looking evidence."""

    def __init__(self, rows, marks):
        self.rows, self.marks = rows, marks

    def hint(self, k):
        from rewardcert.symbolic.guidance.redundancy import RedundancyHint
        others = [j for j in range(len(self.rows)) if j != k]
        if self.marks[k]:                       # redundant: claim it is the minimum at a vertex
            x = min(range(len(self.rows[k].coefficients)), key=lambda i: self.rows[k].coefficients[i])
            return RedundancyHint(False, point=tuple(float(i == x) for i in range(len(self.rows[k].coefficients))))
        return RedundancyHint(True, support=tuple(others[:3]), weights=(0.5, 0.25, 0.25)[:len(others[:3])])


class _Garbage:
    def __init__(self, rows):
        self.count = len(rows)
        self.calls = 0

    def hint(self, k):
        from rewardcert.symbolic.guidance.redundancy import RedundancyHint
        self.calls += 1
        choice = self.calls % 6
        if choice == 0:
            return RedundancyHint(True, support=(k,), weights=(1.0,))                 # the row itself
        if choice == 1:
            return RedundancyHint(True, support=(self.count + 5, -1), weights=(0.5, 0.5))   # no such rows
        if choice == 2:
            return RedundancyHint(True, support=tuple(j for j in range(self.count) if j != k)[:2],
                                  weights=(float("nan"), -1.0))
        if choice == 3:
            return RedundancyHint(False, point=(float("nan"),) * 3)
        if choice == 4:
            return RedundancyHint(False, point=(-1.0,) * 50)
        return None


@pytest.mark.parametrize("liar", ["opposite", "garbage"])
def test_wrong_floating_hints_still_give_the_exact_marks(cases, monkeypatch, liar):
    from rewardcert.symbolic.paper import matrix
    monkeypatch.setattr(matrix, "witnessed_irredundant", lambda rows, **k: set())   # every row asks the hint
    for rows, marks in cases:
        made = []

        def solver(rows, start, marks=marks):
            made.append(_Lying(rows, marks) if liar == "opposite" else _Garbage(rows))
            return made[-1]
        assert [r.redundant for r in matrix.mark_redundant_rows(rows, hints=solver)] == marks
        assert made


def test_highs_answers_that_are_garbage_cannot_change_a_mark(cases, monkeypatch):
    # The default path, with HiGHS's own solution replaced by noise after every solve.
    import numpy as np
    from rewardcert.symbolic.guidance import redundancy
    from rewardcert.symbolic.paper import matrix
    monkeypatch.setattr(matrix, "witnessed_irredundant", lambda rows, **k: set())
    rng = np.random.default_rng(0)
    original = redundancy.RedundancyHints.hint

    def noisy(self, k):
        hint = original(self, k)
        if hint is None:
            return None
        if hint.redundant:
            return redundancy.RedundancyHint(True, support=hint.support,
                                             weights=tuple(rng.random(len(hint.weights))))
        return redundancy.RedundancyHint(False, point=tuple(rng.random(len(hint.point))))
    monkeypatch.setattr(redundancy.RedundancyHints, "hint", noisy)
    for rows, marks in cases:
        assert [r.redundant for r in matrix.mark_redundant_rows(rows)] == marks


def test_highs_hints_on_a_hand_made_matrix():
    # min(d1, d2) <= 1/2 on the 1-simplex: (1/2, 1/2) and (2, 2) are implied, the unit rows are not.
    from rewardcert.symbolic.guidance.highs import RedundancyHints
    hints = RedundancyHints([[1, 0], [0, 1], [2, 2], [0.5, 0.5]])
    unit = hints.hint(0)
    assert not unit.redundant and unit.point[1] > unit.point[0]   # row 0 is smallest where d1 is small
    for k in (2, 3):
        implied = hints.hint(k)
        assert implied.redundant and set(implied.support) <= {0, 1, 2, 3} - {k}
        assert abs(sum(implied.weights) - 1) < 1e-9


def test_redundancy_marking_reports_progress_and_can_be_stopped(cases):
    from rewardcert.symbolic.paper.matrix import mark_redundant_rows
    rows, _ = cases[0]
    seen = []
    mark_redundant_rows(rows, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, len(rows)) and seen[-1] == (len(rows), len(rows))

    class Stop(Exception):
        pass

    def stop(done, total):
        if done:
            raise Stop
    with pytest.raises(Stop):
        mark_redundant_rows(rows, progress=stop)


def test_matrix_command_marks_redundant_rows_like_the_dense_lps(cases, tmp_path, capfd):
    import json

    from rewardcert.symbolic.core.io import model_to_document

    from rewardcert.cli import main
    seed, n, m = REDUNDANT_CASES[0]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_to_document(random_mdp(seed, n, m))))
    capfd.readouterr()
    assert main(["matrix", str(path), "--regret", "1/2", "--json", "--no-paper"]) == 0
    out = json.loads(capfd.readouterr().out)          # fd 1 too: no solver banner in the JSON
    rows, marks = cases[0]
    assert [r["redundant_on_simplex"] for r in out["rows"]] == marks
    assert len(out["rows"]) == len(rows)


def test_algorithm_1_is_refused_from_its_candidate_count_before_enumerating():
    # The count is Σ_π Σ_k C(|off π|, k) C(|pairs| − k, |S|); recounted here by listing them.
    import itertools

    from rewardcert.symbolic.paper import matrix
    mdp = random_mdp(305, 3, 2)
    listed = 0
    for pi in matrix.high_regret_policies(mdp, F(1, 2)):
        off = [s * 2 + a for s in range(3) for a in mdp.enabled_actions(s) if a != pi[s]]
        for k in range(len(off) + 1):
            for e_f in itertools.combinations(off, k):
                listed += sum(1 for _ in itertools.combinations([x for x in mdp.enabled_pairs if x not in e_f], 3))
    assert matrix.paper_algorithm_rows(mdp, F(1, 2), max_candidates=listed)
    with pytest.raises(ResourceLimit, match="candidates"):
        matrix.paper_algorithm_rows(mdp, F(1, 2), max_candidates=listed - 1)


def test_without_highs_the_exact_lps_alone_give_the_marks(cases, monkeypatch):
    from rewardcert.symbolic.core.errors import BackendUnavailable
    from rewardcert.symbolic.guidance import highs
    from rewardcert.symbolic.paper import matrix

    def missing():
        raise BackendUnavailable("no HiGHS here")
    monkeypatch.setattr(highs, "load_highspy", missing)
    rows, marks = cases[0]
    solver = matrix._float_hints(rows, set())
    assert solver.retry(0) is None                     # no second opinion: the exact LP decides
    assert [r.redundant for r in matrix.mark_redundant_rows(rows)] == marks


def _noise(hint, rng):
    from rewardcert.symbolic.guidance.redundancy import RedundancyHint
    if hint is None:
        return None
    if hint.redundant:
        return RedundancyHint(True, support=hint.support, weights=tuple(rng.random(len(hint.weights))))
    return RedundancyHint(False, point=tuple(rng.random(len(hint.point))))


def test_game_hints_that_are_garbage_cannot_change_a_mark(cases, monkeypatch):
    # The batched game LPs (the first opinion) answer with noise; HiGHS and the exact LPs must
    # then give the same marks as one dense exact LP per row.
    import numpy as np
    from rewardcert.symbolic.guidance import redundancy
    from rewardcert.symbolic.paper import matrix
    monkeypatch.setattr(matrix, "witnessed_irredundant", lambda rows, **k: set())
    rng = np.random.default_rng(1)
    original = redundancy.GameHints.solve
    monkeypatch.setattr(redundancy.GameHints, "solve",
                        lambda self, ks: {k: _noise(h, rng) for k, h in original(self, ks).items()})
    for rows, marks in cases:
        assert [r.redundant for r in matrix.mark_redundant_rows(rows)] == marks


def test_game_hints_settle_almost_every_row_without_highs(cases, monkeypatch):
    # The first opinion does the work: HiGHS is asked about almost no row, and every game
    # hint is of the kind the exact marks say (a point for an irredundant row, a combination
    # for a redundant one).
    from rewardcert.symbolic.guidance import redundancy
    from rewardcert.symbolic.paper import matrix
    monkeypatch.setattr(matrix, "witnessed_irredundant", lambda rows, **k: set())
    retried = []
    original = redundancy.LayeredHints.retry
    monkeypatch.setattr(redundancy.LayeredHints, "retry", lambda self, k: retried.append(k) or original(self, k))
    pooled = 0
    for rows, marks in cases:
        floats = [[float(v) for v in r.coefficients] for r in rows]
        for limit in (0.0, redundancy.GAME_POOL_LIMIT):    # every row priced, and the pool first
            game = redundancy.GameHints(floats, pool_limit=limit)
            hints = game.solve(range(len(rows)))
            assert all(hints[k] is not None and hints[k].redundant == marks[k] for k in range(len(rows)))
            pooled += game.full_pricings
        assert [r.redundant for r in matrix.mark_redundant_rows(rows)] == marks
    assert len(retried) <= 2
    assert pooled > 0          # the pool was used, and LPs optimal on it were priced against all rows


def test_game_hints_on_a_hand_made_matrix():
    # min(d1, d2) <= 1/2 on the 1-simplex: (1/2, 1/2) and (2, 2) are implied, the unit rows are not.
    from rewardcert.symbolic.guidance.redundancy import GameHints
    hints = GameHints([[1, 0], [0, 1], [2, 2], [0.5, 0.5]], batch=3).solve(range(4))
    assert not hints[0].redundant and hints[0].point[1] > hints[0].point[0]
    assert not hints[1].redundant and hints[1].point[0] > hints[1].point[1]
    for k in (2, 3):
        assert hints[k].redundant and k not in hints[k].support
        assert abs(sum(hints[k].weights) - 1) < 1e-9
    lone = GameHints([[1, 2, 3]]).solve([0])          # one row: nothing to compare with
    assert lone == {0: None}


def _exact_unique_minimum(rows, k, data):
    own = sum(v * d for v, d in zip(rows[k].coefficients, data))
    return all(sum(v * d for v, d in zip(rows[j].coefficients, data)) > own for j in range(len(rows)) if j != k)


def test_the_int64_unique_minimum_test_agrees_with_fractions(cases):
    # The bracketed int64 test against plain Fraction sums, at random integer points, for the
    # rows that are smallest there in floats (the only ones where it can say yes) and a random
    # one, and at points where two rows tie exactly.
    import random

    from rewardcert.symbolic.paper.matrix import _Scores
    rng = random.Random(5)
    seen = set()
    for rows, _ in cases:
        scores = _Scores(rows)
        assert scores.low is not None
        N = len(rows[0].coefficients)
        for _ in range(60):
            data = [rng.choice((0, 0, 1, 2, 7, 1 << 20)) for _ in range(N)]
            if not any(data):
                continue
            values = sorted(range(len(rows)), key=lambda j: sum(v * d for v, d in zip(rows[j].coefficients, data)))
            for k in values[:2] + [rng.randrange(len(rows))]:
                expected = _exact_unique_minimum(rows, k, data)
                assert scores.unique_minimum(k, data) == expected
                seen.add(expected)
    assert seen == {True, False}


def test_the_int64_unique_minimum_test_leaves_near_ties_to_exact_integers():
    from rewardcert.symbolic.paper.matrix import MatrixRow, _Scores
    tiny = F(1, 10 ** 30)                   # far below the brackets' 2^-34
    rows = [MatrixRow((F(1), F(0)), (0,), ()), MatrixRow((F(1) + tiny, F(0)), (0,), ()),
            MatrixRow((F(0), F(1)), (0,), ())]
    scores = _Scores(rows)
    assert scores.low is not None
    assert scores.unique_minimum(0, [1, 2]) and not scores.unique_minimum(1, [1, 2])   # 1 < 1 + 10^-30
    assert not scores.unique_minimum(0, [1, 1]) and not scores.unique_minimum(2, [1, 1])   # 1 = 1: a tie
    assert scores.unique_minimum(2, [1, 2]) is False and scores.unique_minimum(0, [2, 1]) is False
    assert scores.unique_minimum(2, [2, 1])


def test_a_stopped_marking_keeps_every_row_and_marks_only_those_it_decided(cases):
    from rewardcert.symbolic.paper.matrix import mark_redundant_rows
    rows, marks = cases[1]
    polls = []
    out = mark_redundant_rows(rows, stop=lambda: polls.append(1) or len(polls) > 3)
    decided = [r.redundant for r in out if r.redundant is not None]
    assert len(out) == len(rows) and [r.coefficients for r in out] == [r.coefficients for r in rows]
    assert 0 < len(decided) < len(rows) and decided == marks[:len(decided)]
    assert all(r.redundant is None for r in out[len(decided):])


def test_matrix_command_stopped_while_marking_reports_the_complete_m(cases, tmp_path, capfd, monkeypatch):
    # The bases are done, so M is complete: a budget that runs out while marking leaves rows
    # "not checked" (exit 3) instead of reporting no M at all.
    import json

    from rewardcert.symbolic.core.io import model_to_document
    from rewardcert.symbolic.paper import matrix

    from rewardcert.cli import main
    from rewardcert.commands import paper
    seed, n, m = REDUNDANT_CASES[0]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_to_document(random_mdp(seed, n, m))))
    polls = []
    monkeypatch.setattr(paper, "mark_redundant_rows", lambda rows, progress, stop: matrix.mark_redundant_rows(
        rows, progress=progress, stop=lambda: polls.append(1) or len(polls) > 5))
    capfd.readouterr()
    assert main(["matrix", str(path), "--regret", "1/2", "--json", "--timeout", "600"]) == 3
    out = json.loads(capfd.readouterr().out)
    rows, marks = cases[0]
    assert out["complete"] is True and out["redundancy_marks_complete"] is False
    assert [r["coefficients"] for r in out["rows"]] == [random_mdp(seed, n, m).pair_table(r.coefficients)
                                                       for r in rows]
    got = [r["redundant_on_simplex"] for r in out["rows"]]
    done = [g for g in got if g is not None]
    assert 0 < len(done) < len(rows) and done == marks[:len(done)] and "not checked" in out["message"]
    assert out["paper_algorithm"] is None
    assert main(["matrix", str(path), "--regret", "1/2", "--timeout", "600"]) == 3
    assert "rows were not checked" in capfd.readouterr().out
