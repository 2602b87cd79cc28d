"""``rewardcert plot``: the exact safe polygon of Figure 4, the pictures, slices and bad input."""

import itertools
import sys
from fractions import Fraction as F

import pytest

pytest.importorskip("matplotlib")

from rewardcert.symbolic.core.errors import BackendUnavailable, ModelError  # noqa: E402
from rewardcert.symbolic.core.io import load_model  # noqa: E402
from rewardcert.symbolic.core.results import Verdict  # noqa: E402
from rewardcert.symbolic.paper.matrix import safety_matrix  # noqa: E402
from rewardcert.symbolic.search.engine import critical_epsilon  # noqa: E402

from rewardcert.cli import main  # noqa: E402
from rewardcert.plot import (  # noqa: E402
    TRIANGLE,
    clip,
    data_slice,
    parse_pair,
    plot_safe_region,
    safe_polygon,
)

from .conftest import EXAMPLES  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
L, EPS = F(4, 5), F(1, 5)


@pytest.fixture(scope="module")
def figure4():
    return load_model(EXAMPLES / "figure4.toml").mdp


@pytest.fixture(scope="module")
def chain3():
    return load_model(EXAMPLES / "chain3.toml").mdp


def hand_polygon():
    """Figure 4's polygon from the paper's rows alone, without the toolkit: each row
    (m1, m2, m3)·D ≥ 0.236 with d3 = 1 − d1 − d2 is a half-plane a·(d1, d2) ≥ b; add the
    simplex (d1 ≥ 0, d2 ≥ 0, d1 + d2 ≤ 1), intersect the lines pairwise, keep the
    points that satisfy every half-plane."""
    bound = F("0.2") * F("1.18")                        # eps * range R = 0.236
    rows = [(F("0.8"), F(0), F("0.38")), (F("1.18"), F("0.38"), F(0)), (F(0), F(0), F("1.18"))]
    halves = [(m1 - m3, m2 - m3, bound - m3) for m1, m2, m3 in rows]
    halves += [(F(1), F(0), F(0)), (F(0), F(1), F(0)), (F(-1), F(-1), F(-1))]
    points = set()
    for (a1, b1, c1), (a2, b2, c2) in itertools.combinations(halves, 2):
        det = a1 * b2 - a2 * b1
        if det == 0:
            continue
        p = ((c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det)
        if all(a * p[0] + b * p[1] >= c for a, b, c in halves):
            points.add(p)
    return points


def test_hand_computation_is_the_picture_in_the_paper():
    assert hand_polygon() == {(F(1, 5), F(0)), (F(4, 5), F(0)), (F(1, 5), F(3, 5)), (F(23, 400), F(177, 400))}


def test_figure4_polygon_is_exact_and_the_png_is_written(figure4, tmp_path):
    out = tmp_path / "figure4.png"
    data = (F(2, 5), F(3, 10), F(3, 10))
    result = plot_safe_region(figure4, L, EPS, out, data=data)
    assert result.mode == "simplex" and result.method == "matrix" and result.resolution == 200
    assert len(result.polygon) == 4
    assert set(result.polygon) == hand_polygon()
    assert all(isinstance(c, F) for p in result.polygon for c in p)
    for (d1, d2), dist in zip(result.polygon, result.polygon_data):
        assert dist == (d1, d2, 1 - d1 - d2)
    assert result.marker == (F(2, 5), F(3, 10)) and result.marker_epsilon == F(3, 10)
    raw = out.read_bytes()
    assert len(raw) > 1000 and raw.startswith(PNG_MAGIC)


def _inside(polygon, p):
    """Strictly inside a counter-clockwise convex polygon (exact)."""
    n = len(polygon)
    return all((q[0] - o[0]) * (p[1] - o[1]) - (q[1] - o[1]) * (p[0] - o[0]) > 0
               for o, q in ((polygon[i], polygon[(i + 1) % n]) for i in range(n)))


def _in_closure(polygon, p):
    n = len(polygon)
    return all((q[0] - o[0]) * (p[1] - o[1]) - (q[1] - o[1]) * (p[0] - o[0]) >= 0
               for o, q in ((polygon[i], polygon[(i + 1) % n]) for i in range(n)))


def test_polygon_agrees_with_the_exact_engine(figure4, tmp_path):
    polygon = plot_safe_region(figure4, L, EPS, tmp_path / "f.png", resolution=20).polygon

    def verdict(d1, d2):
        return critical_epsilon(figure4, (d1, d2, 1 - d1 - d2), L).verdict(EPS)

    centre = (sum(p[0] for p in polygon) / 4, sum(p[1] for p in polygon) / 4)
    assert _inside(polygon, centre) and verdict(*centre) is Verdict.SAFE
    assert not _in_closure(polygon, (F(1, 10), F(1, 10))) and verdict(F(1, 10), F(1, 10)) is Verdict.UNSAFE
    # the strict inequality: a vertex on two rows' lines is unsafe, a point of the edge
    # along the simplex boundary (d2 = 0) is safe
    assert verdict(F(1, 5), F(3, 5)) is Verdict.UNSAFE
    assert verdict(F(1, 2), F(0)) is Verdict.SAFE
    for i, j in itertools.product(range(11), repeat=2):
        if i + j > 10:
            continue
        p = (F(i, 10), F(j, 10))
        v = verdict(*p)
        if _inside(polygon, p):
            assert v is Verdict.SAFE, p
        if v is Verdict.SAFE:
            assert _in_closure(polygon, p), p


def test_no_safe_distribution_gives_an_empty_polygon(figure4, tmp_path):
    # eps** = 1/2 on Figure 4: at eps = 1/2 the closed region shrinks to a point, the open one is empty
    result = plot_safe_region(figure4, L, F(1, 2), tmp_path / "empty.png", resolution=10)
    assert result.polygon == ()
    assert (tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)
    assert plot_safe_region(figure4, L, F(49, 100), tmp_path / "small.png", resolution=10).polygon


def test_clip_is_exact_and_drops_repeated_vertices():
    # a cut through the vertex (1, 0) and the midpoint of the opposite side
    cut = clip(TRIANGLE, F(-1), F(-2), F(-1))           # u + 2v <= 1
    assert set(cut) == {(F(0), F(0)), (F(1), F(0)), (F(0), F(1, 2))}
    assert clip(TRIANGLE, F(0), F(0), F(1)) == ()        # 0 >= 1: nothing left
    assert clip(TRIANGLE, F(0), F(0), F(0)) == TRIANGLE  # 0 >= 0: everything


def test_slice_mode_on_chain3(chain3, tmp_path):
    out = tmp_path / "chain3.png"
    x, y = parse_pair(chain3, "s0:right"), parse_pair(chain3, "s2:right")
    result = plot_safe_region(chain3, F(1, 2), F(1, 20), out, slice_pairs=(x, y), resolution=40)
    assert result.mode == "slice" and result.method == "matrix"
    assert result.axes == ("s0:right", "s2:right")
    assert result.marker == (F(1, 6), F(1, 6)) and result.marker_epsilon == F(27, 344)
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert len(result.polygon) >= 3
    for dist in result.polygon_data:
        assert sum(dist) == 1 and min(dist) >= 0
    n = len(result.polygon_data)
    centre = tuple(sum(d[k] for d in result.polygon_data) / n for k in range(chain3.n_pairs))
    assert critical_epsilon(chain3, centre, F(1, 2)).verdict(F(1, 20)) is Verdict.SAFE
    # the slice's polygon is M's safe set restricted to the slice
    matrix = safety_matrix(chain3, F(1, 2))
    plane = data_slice(chain3, x, y, (F(1, 6),) * 6)
    assert safe_polygon(matrix, plane, F(1, 20)) == result.polygon


def test_slice_mode_with_the_engine_per_grid_point(chain3, tmp_path):
    out = tmp_path / "engine.png"
    pairs = (parse_pair(chain3, "s0:right"), parse_pair(chain3, "s2:right"))
    result = plot_safe_region(chain3, F(1, 2), F(1, 20), out, slice_pairs=pairs, resolution=4, method="engine")
    assert result.method == "engine" and result.polygon is None and result.unknown_points == 0
    assert result.marker_epsilon == F(27, 344)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_cli_prints_the_vertices_and_the_path(tmp_path, capsys):
    out = tmp_path / "fig.png"
    status = main(["plot", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--epsilon", "1/5",
                   "-o", str(out), "--data", str(EXAMPLES / "figure4-data.toml"), "--resolution", "30"])
    printed = capsys.readouterr().out
    assert status == 0
    for vertex in ("(1/5, 0)", "(4/5, 0)", "(1/5, 3/5)", "(23/400, 177/400)"):
        assert vertex in printed
    assert str(out) in printed and "eps*(D) = 3/10" in printed
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_cli_slice(tmp_path, capsys):
    out = tmp_path / "slice.png"
    status = main(["plot", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--epsilon", "1/20",
                   "-o", str(out), "--slice", "s0:right", "s2:right", "--resolution", "20"])
    assert status == 0 and out.stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def _bad(args, capsys, tmp_path):
    status = main(["plot", *args, "-o", str(tmp_path / "bad.png")])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and err.startswith("rewardcert: error:")
    assert not (tmp_path / "bad.png").exists()
    return err


@pytest.mark.parametrize("pair, message", [
    ("s0:rightt", "unknown action 'rightt'"),
    ("s9:right", "unknown state 's9'"),
    ("s0right", "write STATE:ACTION"),
])
def test_bad_slice_names_exit_2(pair, message, capsys, tmp_path):
    err = _bad([str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--epsilon", "1/20",
                "--slice", pair, "s2:right"], capsys, tmp_path)
    assert message in err


@pytest.mark.parametrize("args, message", [
    (["chain3.toml", "--regret", "1/2", "--epsilon", "1/20"], "--slice"),
    (["chain3.toml", "--regret", "1/2", "--epsilon", "1/20", "--slice", "s0:right", "s0:right"], "different"),
    (["figure4.toml", "--regret", "3/2", "--epsilon", "1/5"], "0 < L <= 1"),
    (["figure4.toml", "--regret", "0", "--epsilon", "1/5"], "0 < L <= 1"),
    (["figure4.toml", "--regret", "4/5", "--epsilon", "0"], "must be > 0"),
    (["figure4.toml", "--regret", "4/5", "--epsilon", "1/5", "--resolution", "1"], "resolution"),
])
def test_bad_input_exits_2(args, message, capsys, tmp_path):
    args = [str(EXAMPLES / args[0]), *args[1:]]
    assert message in _bad(args, capsys, tmp_path)


def test_base_with_no_mass_off_the_axes_is_refused(chain3, tmp_path, capsys):
    data = tmp_path / "two-pairs.toml"
    data.write_text('format = "rewardcert/data-1"\n[data.s0]\nright = "1/2"\n[data.s2]\nright = "1/2"\n')
    err = _bad([str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--epsilon", "1/20", "--data", str(data),
                "--slice", "s0:right", "s2:right"], capsys, tmp_path)
    assert "all its mass" in err
    with pytest.raises(ModelError):
        data_slice(chain3, 1, 5, (F(0), F(1, 2), F(0), F(0), F(0), F(1, 2)))


def test_bad_output_name_exits_2(capsys, tmp_path):
    status = main(["plot", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--epsilon", "1/5",
                   "-o", str(tmp_path / "no-such-folder" / "f.png")])
    assert status == 2 and "does not exist" in capsys.readouterr().err
    status = main(["plot", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--epsilon", "1/5",
                   "-o", str(tmp_path / "f.unknownformat")])
    assert status == 2 and ".png" in capsys.readouterr().err


def test_missing_matplotlib_is_a_clear_error(figure4, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'rewardcert\[plot\]'"):
        plot_safe_region(figure4, L, EPS, tmp_path / "f.png")
    status = main(["plot", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--epsilon", "1/5",
                   "-o", str(tmp_path / "f.png")])
    assert status == 2 and "rewardcert[plot]" in capsys.readouterr().err


def test_docs_console_blocks_are_what_the_command_prints(tmp_path, capsys, monkeypatch):
    """docs/plots.md shows real output ("..." elides lines); the picture goes to tmp_path."""
    import re
    import shlex

    from .conftest import ROOT
    text = (ROOT / "docs" / "plots.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(ROOT)
    for block in blocks:
        command, *shown = block.splitlines()
        argv = shlex.split(command.removeprefix("$ rewardcert "))
        picture = argv[argv.index("-o") + 1]
        argv[argv.index("-o") + 1] = str(tmp_path / picture.rsplit("/", 1)[-1])
        assert main(argv) == 0
        printed = capsys.readouterr().out.replace(str(tmp_path / picture.rsplit("/", 1)[-1]), picture)
        printed = printed.splitlines()
        position = 0
        for line in shown:
            if line == "...":
                continue
            assert line in printed[position:], f"docs/plots.md shows {line!r}, which the command does not print"
            position = printed.index(line, position) + 1


def test_the_suggested_slice_names_enabled_pairs(capsys, tmp_path):
    # Regression: on a model with per-state action sets the suggestion named a disabled pair,
    # which --slice then refuses.
    from rewardcert.symbolic.core.io import load_model
    mdp = load_model(EXAMPLES / "warehouse.toml").mdp
    err = _bad([str(EXAMPLES / "warehouse.toml"), "--regret", "1/2", "--epsilon", "1/10"], capsys, tmp_path)
    suggested = err.split("(e.g. --slice ")[1].split(")")[0].split(" ")
    assert len(suggested) == 2
    for text in suggested:
        state, action = text.rsplit(":", 1)
        assert mdp.is_enabled(mdp.pair(mdp.states.index(state), mdp.actions.index(action))), text
