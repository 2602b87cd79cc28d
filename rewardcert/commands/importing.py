"""``rewardcert import gymnasium|prism`` and ``rewardcert export prism`` (docs/import.md, docs/import.md).

Every import writes a ``rewardcert/mdp-1`` file, checked to read back as the same
model and written atomically, so certificates never depend on an importer.
"""

from __future__ import annotations

import argparse
import os
import sys

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.numbers import format_rational

from . import EXIT_OK, command, plural, rational_arg


def _gamma(args: argparse.Namespace):
    gamma = args.gamma
    if not (0 <= gamma < 1):
        raise ModelError(f"gamma = {format_rational(gamma)} is outside [0, 1)", entry="--gamma")
    return gamma


def _output(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("-o", "--out", "--output", dest="output", required=True, metavar="FILE",
                   help=f"the {what} file to write (atomically; a missing directory is an error)")


def _summary(mdp, path: str) -> str:
    pairs = mdp.n_enabled_pairs
    return (f"wrote {path}: {plural(len(mdp.states), 'state')} x {plural(len(mdp.actions), 'action')} "
            f"({pairs} enabled pairs), gamma = {format_rational(mdp.gamma)}")


def _command_line(source: str, args: argparse.Namespace) -> str:
    """The header of an imported file: how to make it again."""
    import shlex
    words = ["rewardcert", "import", source]
    if source == "gymnasium":
        words.append(args.env_id)
        for option in args.option:
            words += ["--option", option]
        if args.initial:
            words += ["--initial", args.initial]
    else:
        words.append(os.path.basename(args.file))
        if args.reward:
            words += ["--reward", args.reward]
        if args.constants:
            words += ["--constants", args.constants]
    if args.name:
        words += ["--name", args.name]
    words += ["--gamma", format_rational(args.gamma), "-o", os.path.basename(args.output)]
    return "Written by: " + " ".join(shlex.quote(w) for w in words) + "\nEdit the source, not this file."


def configure_import(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    gym = sub.add_parser("gymnasium", help="a tabular Gymnasium environment (env.unwrapped.P)",
                         description="Import a tabular Gymnasium environment (FrozenLake, CliffWalking, Taxi, ...) "
                                     "as an exact rewardcert/mdp-1 file (docs/import.md rules, docs/import.md).")
    gym.add_argument("env_id", metavar="ENV_ID", help="a Gymnasium id, e.g. FrozenLake-v1")
    gym.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="passed to gymnasium.make (repeatable), e.g. map_name=4x4 or is_slippery=false")
    gym.add_argument("--gamma", required=True, type=rational_arg("--gamma"), metavar="G",
                     help="discount factor 0 <= G < 1, exact")
    gym.add_argument("--initial", metavar="STATE",
                     help="start in this state (default: the environment's initial-state distribution)")
    gym.add_argument("--name", help="model name (default: the id and options)")
    gym.add_argument("--report", metavar="FILE", help="also write every rationalised entry to FILE")
    gym.add_argument("--quiet", action="store_true", help="print only the summary line")
    _output(gym, "model")
    prism = sub.add_parser("prism", help="a PRISM (.nm/.prism) or JANI (.jani) MDP, built exactly by stormpy",
                           description="Import a PRISM or JANI MDP through stormpy, exactly "
                                       "(docs/import.md).")
    prism.add_argument("file", metavar="FILE", help="PRISM (.nm, .prism) or JANI (.jani) model")
    prism.add_argument("--reward", metavar="NAME",
                       help="the reward structure (may be omitted when the model has exactly one)")
    prism.add_argument("--gamma", required=True, type=rational_arg("--gamma"), metavar="G",
                       help="discount factor 0 <= G < 1, exact (PRISM's properties are undiscounted)")
    prism.add_argument("--constants", metavar="K=V,...", help="values for undefined constants, exact")
    prism.add_argument("--name", help="model name (default: the file name)")
    _output(prism, "model")


@command("import", "bring a Gymnasium environment or a PRISM/JANI model in as a rewardcert/mdp-1 file",
         configure_import)
def run_import(args: argparse.Namespace) -> int:
    from ..importers.mdpfile import write_model
    from ..output import check_output_path, write_text
    gamma = _gamma(args)
    # Every output is checked before any work, so that a bad --report cannot fail after the model was written.
    check_output_path(args.output, what="model", option="--out")
    if getattr(args, "report", None):
        check_output_path(args.report, what="report", option="--report")
    if args.source == "gymnasium":
        from ..importers.gym_import import import_gymnasium, parse_option, typed_options
        options = typed_options(args.env_id, [parse_option(text) for text in args.option])
        mdp, report, description = import_gymnasium(args.env_id, gamma, options=options,
                                                     initial_state=args.initial, name=args.name)
        write_model(args.output, mdp, description=description, comment=_command_line("gymnasium", args))
        if args.report:
            write_text(args.report, "\n".join(report.lines()) + "\n", what="report")
        if not args.quiet:
            for line in report.lines():
                print(line)
        print(_summary(mdp, args.output))
        return EXIT_OK
    from ..importers.prism_import import import_prism, parse_constants
    mdp, notes = import_prism(args.file, gamma, reward=args.reward, constants=parse_constants(args.constants),
                              name=args.name)
    description = (f"Imported from {os.path.basename(args.file)} by `rewardcert import prism` "
                   f"(reward structure, gamma = {format_rational(gamma)}; docs/import.md).")
    write_model(args.output, mdp, description=description, comment=_command_line("prism", args))
    for line in notes:
        print(line)
    print(_summary(mdp, args.output))
    return EXIT_OK


def configure_export(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="target", required=True, metavar="TARGET")
    prism = sub.add_parser("prism", help="a PRISM MDP (.nm) for Storm or PRISM",
                           description="Write the model as a PRISM MDP. --stop-state writes the stop-state "
                                       "transform, whose Rmax=? [F \"stop\"] is the discounted V* (docs/import.md).")
    prism.add_argument("model", metavar="MODEL", help="model file (TOML or JSON, format rewardcert/mdp-1)")
    prism.add_argument("--stop-state", action="store_true",
                       help="scale every probability by gamma and send 1 - gamma to an absorbing \"stop\" state")
    _output(prism, "PRISM")


@command("export", "write a model for another tool (PRISM/Storm)", configure_export)
def run_export(args: argparse.Namespace) -> int:
    from rewardcert.symbolic.core.io import load_model

    from ..importers.prism_export import to_prism
    from ..output import check_output_path, write_text
    check_output_path(args.output, what="PRISM model", option="--out")
    mdp = load_model(args.model).mdp
    write_text(args.output, to_prism(mdp, stop_state=args.stop_state), what="PRISM model")
    support = [p for p in mdp.initial if p]
    if len(set(support)) > 1:
        # PRISM's init block names states, not probabilities: the exact mu0 survives only as a comment
        shown = ", ".join(f"{s} = {format_rational(p)}" for s, p in zip(mdp.states, mdp.initial) if p)
        print(f"rewardcert: warning: PRISM has no initial distribution, so {args.output} keeps the initial "
              f"states but not mu0 ({shown}); importing it back makes mu0 uniform over them, which changes "
              "J*. The exact mu0 is in a comment of the file; weigh Storm's per-state values by it "
              "(docs/import.md)", file=sys.stderr)
    kind = "stop-state transform" if args.stop_state else "MDP"
    print(f"wrote {args.output}: PRISM {kind}, {plural(len(mdp.states), 'state')}, "
          f"{plural(mdp.n_enabled_pairs, 'command')}"
          + ('; check with Rmax=? [F "stop"]' if args.stop_state else ""), file=sys.stdout)
    return EXIT_OK
