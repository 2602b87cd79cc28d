"""``rewardcert plot``: the safe region (Figure 4, right, or a 2-D slice) and ε*(D) as a heat map."""

from __future__ import annotations

import argparse

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.io import load_model, resolve_data
from rewardcert.symbolic.core.numbers import format_epsilon, format_rational

from ..plot import (
    ENGINE_SECONDS,
    describe_vertices,
    pair_text,
    parse_pair,
    plot_safe_region,
)
from ..progress import ProgressBar
from . import (
    EXIT_OK,
    add_epsilon_argument,
    add_model_argument,
    add_regret_argument,
    check_parameters,
    check_stdin_once,
    command,
)


def configure(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    add_regret_argument(p)
    add_epsilon_argument(p)
    p.add_argument("-o", "--out", "--output", dest="out", required=True, metavar="FILE.png",
                   help="write the picture here (.png, .svg or .pdf; '-': PNG on standard output); an "
                        "existing file is replaced atomically, a missing directory is an error")
    p.add_argument("--data", metavar="DATA",
                   help="a rewardcert/data-1 file or 'uniform': marked on the simplex when the model has "
                        "3 pairs; the base of the slice otherwise (default: the model's own [data] table, "
                        "or uniform if it has none)")
    p.add_argument("--slice", nargs=2, metavar=("X", "Y"),
                   help="draw the 2-D slice spanned by the pairs X and Y, written STATE:ACTION "
                        "(required unless the model has exactly 3 state-action pairs)")
    p.add_argument("--resolution", type=int, metavar="N",
                   help="grid steps per side of the triangle for the heat map "
                        "(default 200 from M, 8 when the exact engine runs at every grid point)")
    p.add_argument("--timeout", type=float, default=ENGINE_SECONDS, metavar="SECONDS",
                   help=f"time budget of the exact engine per grid point when M is too large "
                        f"(default {ENGINE_SECONDS:g}); undecided points are drawn grey")


@command("plot", "draw the safe region at eps (the paper's Figure 4) and eps*(D) as a heat map "
                 "(needs matplotlib: pip install 'rewardcert[plot]')", configure)
def run(args: argparse.Namespace) -> int:
    check_parameters(args)
    check_stdin_once(args.model, args.data)
    loaded = load_model(args.model)
    mdp = loaded.mdp
    slice_pairs = None
    if args.slice:
        slice_pairs = (parse_pair(mdp, args.slice[0]), parse_pair(mdp, args.slice[1]))
    elif mdp.n_pairs != 3:
        raise ModelError(f"this model has {mdp.n_pairs} state-action pairs; the simplex can be drawn only "
                         "for 3, so choose a 2-D slice: --slice STATE:ACTION STATE:ACTION "
                         f"(e.g. --slice {pair_text(mdp, mdp.enabled_pairs[0])} "
                         f"{pair_text(mdp, mdp.enabled_pairs[-1])})", file=loaded.path)
    data = loaded.data if args.data is None else resolve_data(args.data, loaded)
    data_source = (f"--data {args.data}" if args.data is not None else
                   "the model's [data] table" if loaded.data is not None else "none (the model has no [data] table)")
    bar = ProgressBar("grid points", min_total=2)
    bases = ProgressBar("bases", min_total=2000)
    result = plot_safe_region(mdp, args.regret, args.epsilon, args.out, data=data, slice_pairs=slice_pairs,
                              resolution=args.resolution, seconds_per_point=args.timeout, progress=bar,
                              matrix_progress=bases, stdout=getattr(args, "stdout", None))
    bar.close()
    bases.close()
    coords = "(d1, d2)" if result.mode == "simplex" else "(u, v)"
    out = [f"{mdp.name or loaded.path}: epsilon = {format_rational(args.epsilon)}, "
           f"L = {format_rational(args.regret)}, "
           + ("the 2-simplex" if result.mode == "simplex"
              else f"slice u = D({result.axes[0]}), v = D({result.axes[1]})")]
    out += [line.replace("(u, v)", coords) for line in describe_vertices(mdp, result)]
    if result.method == "engine":
        out.append(f"{result.note}")
        if result.unknown_points:
            out.append(f"{result.unknown_points} grid points undecided within {args.timeout:g} s each "
                       "(drawn grey; raise --timeout)")
    if result.marker is not None:
        what = "data D" if result.mode == "simplex" else "base D"
        value = format_epsilon(result.marker_epsilon) if result.marker_known else "unknown (time budget)"
        out.append(f"{what} at {coords} = ({format_rational(result.marker[0])}, "
                   f"{format_rational(result.marker[1])}): eps*(D) = {value}")
    out.append(f"heat map: {result.resolution} grid steps per side, eps*(D) from "
               + ("M" if result.method == "matrix" else "the exact engine"))
    out.append(f"data: {data_source}")
    out.append("wrote the picture to standard output" if result.path == "-" else f"wrote {result.path}")
    print("\n".join(out))
    return EXIT_OK
