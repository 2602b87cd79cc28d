"""Imported environments: import time, and exact J* by rewardcert against Storm's exact engine (issue 10).

For each Gymnasium environment (FrozenLake 4×4 and 8×8, slippery; CliffWalking;
Taxi) at ``γ = 9/10``:

* ``import``     — ``rewardcert.importers.gym_import.import_gymnasium`` plus rendering the
  checked TOML (``mdpfile.checked_toml``: the text is parsed back by the loader);
* ``rewardcert`` — ``J*`` by exact policy iteration over FLINT rationals
  (``rewardcert.symbolic.exact.evaluation.policy_iteration``, maximising, then ``μ0 · V``);
* ``storm``      — ``J*`` by Storm's exact sparse engine on the stop-state program
  (``prism_import.storm_optimal_return``: export, parse, ``build_model[stormpy.Rational]``,
  ``Rmax=? [F "stop"]``), the obvious alternative a user would reach for.

Both ``J*`` must be identical, exactly (exit 1 otherwise).  Needs the optional
extras gymnasium and stormpy.

Usage, from the repository root::

    python -m benchmarks.bench_import
    python -m benchmarks.bench_import --envs Taxi-v4
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction

from benchmarks.timing import best_time

ENVIRONMENTS = {
    "FrozenLake-4x4": ("FrozenLake-v1", {"map_name": "4x4"}),
    "FrozenLake-8x8": ("FrozenLake-v1", {"map_name": "8x8"}),
    "CliffWalking": ("CliffWalking-v1", {}),
    "Taxi": ("Taxi-v4", {}),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVIRONMENTS), choices=list(ENVIRONMENTS))
    args = parser.parse_args(argv)
    from rewardcert.symbolic.exact.evaluation import policy_iteration
    from rewardcert.symbolic.exact.linalg import to_fmpq, to_fraction

    from rewardcert.importers.gym_import import import_gymnasium
    from rewardcert.importers.mdpfile import checked_toml
    from rewardcert.importers.prism_import import storm_optimal_return

    def optimal_return(mdp) -> Fraction:
        fresh = mdp.with_reward(mdp.reward)            # a new object: its dynamics cache starts empty
        _, values = policy_iteration(fresh, [to_fmpq(r) for r in fresh.reward], maximise=True)
        return sum((p * to_fraction(v) for p, v in zip(fresh.initial, values) if p), Fraction(0))

    gamma = Fraction(9, 10)
    print(f"{'environment':16} {'states':>6} {'pairs':>6} {'import s':>9} {'rewardcert s':>13} {'storm s':>8} "
          f"{'storm/rewardcert':>17}")
    failures = 0
    for name in args.envs:
        env_id, options = ENVIRONMENTS[name]

        def do_import():
            mdp, _, _ = import_gymnasium(env_id, gamma, options=options)
            checked_toml(mdp)
            return mdp
        t_import, mdp = best_time(do_import)
        t_ours, ours = best_time(lambda: optimal_return(mdp))
        t_storm, storm = best_time(lambda: storm_optimal_return(mdp))
        same = storm == ours
        failures += not same
        print(f"{name:16} {mdp.n_states:6} {mdp.n_enabled_pairs:6} {t_import:9.3f} {t_ours:13.3f} {t_storm:8.3f} "
              f"{t_storm / t_ours:16.2f}x" + ("" if same else "  DISAGREE"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
