"""Sweeps: ``certify`` and ``threshold`` over lists or ranges of ``L``, ``ε`` and ``λ`` in one process.

``--regret 1/4,1/2,3/4`` (a list) or ``--regret 1/4:1/4:1`` (``start:step:stop``, both ends
included, as PRISM's ``-const``) on ``threshold`` and ``certify``; the same for ``--epsilon`` on
``certify`` and ``--lambda`` on both.  Each combination of values is one row: the single run,
exactly as the command would make it alone (its JSON object is the row), with the model read
once and its ``J*``/``J^min`` computed once.  With ``--out DIR`` each row's certificate is written
into ``DIR`` (created, like ``theorems --out``).  ``--json`` prints ``{"rows": [...]}``; the text is
one table.  The exit status is 0 when every row was decided (2 for bad input), 3 when some row
stayed unknown, 4 when a cross-check disagreed, and 130/143 after an interrupt (the rows so far
are printed).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import itertools
import json
import os
from fractions import Fraction

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.numbers import approximate, as_fraction_arg, format_rational

from . import EXIT_BAD_INPUT, EXIT_DISAGREEMENT, EXIT_OK, EXIT_UNKNOWN, EXIT_UNSAFE, print_json, table

MAX_ROWS = 1000
"""A sweep of more combinations is refused: each row is a whole search."""

SWEPT = {"regret": "--regret", "epsilon": "--epsilon", "lam": "--lambda"}


class Values(tuple):
    """The values of one swept option, in the order given."""


def sweep_arg(name: str):
    """argparse type for ``V``, ``V1,V2,...`` or ``START:STEP:STOP`` (exact rationals)."""
    def convert(text: str) -> Values:
        try:
            if ":" in text:
                parts = text.split(":")
                if len(parts) != 3:
                    raise ModelError(f"a range is START:STEP:STOP, got {text!r}")
                start, step, stop = (as_fraction_arg(p, name=name) for p in parts)
                if step <= 0 or stop < start:
                    raise ModelError(f"a range needs STEP > 0 and STOP >= START, got {text!r}")
                count = (stop - start) // step + 1
                if count > MAX_ROWS:
                    raise ModelError(f"{text!r} has {count} values; at most {MAX_ROWS}")
                return Values(start + k * step for k in range(int(count)))
            values = Values(as_fraction_arg(part, name=name) for part in text.split(","))
            if not values or len(set(values)) != len(values):
                raise ModelError(f"the values of {name} must be distinct, got {text!r}")
            return values
        except ModelError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
    return convert


def is_sweep(args: argparse.Namespace) -> bool:
    return any(len(getattr(args, key, None) or ()) > 1 for key in SWEPT if isinstance(getattr(args, key, None), Values))


def single(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every swept option's one value unwrapped (a plain run)."""
    for key in SWEPT:
        value = getattr(args, key, None)
        if isinstance(value, Values):
            setattr(args, key, value[0])
    return args


def _combinations(args) -> tuple[list[str], list[dict]]:
    keys = [key for key in SWEPT if isinstance(getattr(args, key, None), Values)]
    combos = [dict(zip(keys, values)) for values in itertools.product(*(getattr(args, k) for k in keys))]
    if len(combos) > MAX_ROWS:
        raise ModelError(f"the sweep has {len(combos)} combinations; at most {MAX_ROWS}")
    return keys, combos


def _row_name(command: str, combo: dict) -> str:
    def text(value: Fraction) -> str:
        return format_rational(value).replace("/", "_").replace("-", "m")
    return command + "".join(f"-{ {'regret': 'L', 'epsilon': 'eps', 'lam': 'lambda'}[k]}{text(v)}"
                             for k, v in combo.items()) + ".json"


def run_sweep(args: argparse.Namespace, command: str, run) -> int:
    """Each combination through ``run`` (the single command), its JSON captured as the row."""
    from ..engine import check_parameters
    keys, combos = _combinations(args)
    for combo in combos:                   # every value checked before the first search
        check_parameters(argparse.Namespace(**{**vars(args), **combo}))
    out_dir = args.out
    if out_dir:
        if out_dir == "-" or os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise ModelError("with a sweep, --out names a directory for one certificate per row", entry="--out")
        parent = os.path.dirname(os.path.abspath(out_dir))
        if not os.path.isdir(parent):
            raise ModelError(f"cannot create {out_dir!r}: its parent {parent!r} does not exist", entry="--out")
        os.makedirs(out_dir, exist_ok=True)
    shared: dict = {}                      # the model read once, J*/J^min once (engine.load_instance)
    rows, statuses = [], []
    interrupts = getattr(args, "interrupts", None)
    for combo in combos:
        row_args = copy.copy(args)
        for key, value in combo.items():
            setattr(row_args, key, value)
        row_args.json = True
        row_args.shared = shared
        row_args.out = os.path.join(out_dir, _row_name(command, combo)) if out_dir else None
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            status = run(row_args)
        rows.append(json.loads(captured.getvalue()))
        statuses.append(status)
        if interrupts is not None and interrupts.stop_requested():
            break
    if getattr(args, "plot", None):
        from ..plot.sweep import plot_sweep
        plot_sweep(args.plot, command, [k for k in keys if len(getattr(args, k)) > 1], combos[:len(rows)], rows)
    swept = [k for k in keys if len(getattr(args, k)) > 1]
    if args.json:
        print_json({"command": command, "parameters": [SWEPT[k] for k in swept], "rows": rows}, f"{command}-sweep")
    else:
        print("\n".join(_table(command, swept, combos, rows, out_dir)))
    return _status(args, statuses)


def _status(args, statuses: list[int]) -> int:
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return interrupts.exit_status
    if EXIT_BAD_INPUT in statuses:
        return EXIT_BAD_INPUT
    if EXIT_DISAGREEMENT in statuses:
        return EXIT_DISAGREEMENT
    if EXIT_UNKNOWN in statuses:
        return EXIT_UNKNOWN
    return EXIT_OK if all(s in (EXIT_OK, EXIT_UNSAFE) for s in statuses) else max(statuses)


def _shown(value, exact: bool = True) -> str:
    if value in (None, "inf"):
        return "inf" if value == "inf" else "-"
    if "/" not in value:
        return value
    return f"{value} (~ {approximate(Fraction(value), 4)})" if exact else f"~ {approximate(Fraction(value), 4)}"


def _table(command, keys, combos, rows, out_dir) -> list[str]:
    header = [SWEPT[k].lstrip("-") for k in keys] + (["verdict"] if command == "certify" else []) + \
        ["eps* (exact)" if command == "threshold" else "eps*", "interval", "complete"]
    lines = []
    for combo, row in zip(combos, rows):
        interval = row.get("interval") or {}
        cells = [format_rational(combo[k]) for k in keys]
        if command == "certify":
            cells.append(row.get("verdict", "-"))
        cells += [_shown(row.get("critical_epsilon")),
                  f"[{_shown(interval.get('lower'), False)}, {_shown(interval.get('upper'), False)}]",
                  "yes" if row.get("complete") else "no"]
        lines.append(cells)
    out = [f"{rows[0].get('model', '') if rows else ''}: {command} over "
           + ", ".join(SWEPT[k] for k in keys) + f" ({len(rows)} rows, one process)"]
    out += table(lines, header)
    if out_dir:
        out.append(f"certificates: one per row in {out_dir}")
    return out
