"""The paper's instances as checked-in certificates (``proofs/instances/``).

``python -m rewardcert.instances [DIR]`` regenerates them deterministically;
a test asserts that the files in the repository are exactly what this
produces, and CI re-checks every one with the standalone checker.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

from rewardcert.symbolic.core.io import load_data, load_model
from rewardcert.symbolic.core.model import MDP, uniform_distribution
from rewardcert.symbolic.paper.safest import safest_distribution
from rewardcert.symbolic.paper.section3 import proposition_3_3
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.squared import squared_threshold

from .certificates import (
    check_certificate_document,
    safest_certificate,
    safety_certificate,
    squared_certificate,
    threshold_certificate,
    unsafe_certificate,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
INSTANCES = ROOT / "proofs" / "instances"
D14_U = (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1))


def example_d14(u: Fraction, gamma: Fraction = Fraction(1, 2)) -> MDP:
    """Example D.14 (tightness of Prop. 3.2): R(a) = 1, R(b) = 0, R(c) = R(a) − (R(a) − R(b))/U."""
    reward = (Fraction(1), Fraction(0), 1 - 1 / u)
    loops = ((0, Fraction(1)),)
    return MDP(("star",), ("a", "b", "c"), gamma, (Fraction(1),), reward, (loops, loops, loops),
               name=f"example-d14 (U = {u})")


def instances() -> dict[str, dict]:
    out: dict[str, dict] = {}
    # Figure 4: the threshold at uniform D, the two data files at eps = 1/5, the safest D.
    fig4 = load_model(EXAMPLES / "figure4.toml").mdp
    L = Fraction(4, 5)
    uniform = uniform_distribution(fig4)
    out["figure4-threshold-uniform.json"] = threshold_certificate(fig4, uniform, L, critical_epsilon(fig4, uniform, L))
    for suffix in ("data", "data-unsafe"):
        data = load_data(EXAMPLES / f"figure4-{suffix}.toml", fig4)
        result = critical_epsilon(fig4, data, L)
        verdict = "safe" if suffix == "data" else "unsafe"
        out[f"figure4-{verdict}.json"] = safety_certificate(fig4, data, Fraction(1, 5), L, result)
    out["figure4-safest.json"] = safest_certificate(fig4, L, safest_distribution(fig4, L))
    # App. B.3: the mean-squared error at uniform D, eps*_MSE = 1/6 (the absolute error's is 1/3).
    out["figure4-squared-threshold-uniform.json"] = squared_certificate(fig4, uniform, L,
                                                                        squared_threshold(fig4, uniform, L))

    # Example D.14 for several U, with L = U: eps*(uniform D) is sqrt 2 times Prop. 3.2's bound.
    for u in D14_U:
        mdp = example_d14(u)
        data = uniform_distribution(mdp)
        name = f"example-d14-U{u.numerator}-{u.denominator}-threshold.json"
        out[name] = threshold_certificate(mdp, data, u, critical_epsilon(mdp, data, u))

    # Appendix B.4 chatbot: threshold at its data, a Prop. 3.3 witness at eps = 1/5, the safest D.
    loaded = load_model(EXAMPLES / "chatbot.toml")
    bot, data, L = loaded.mdp, loaded.data, Fraction(1, 2)
    result = critical_epsilon(bot, data, L)
    out["chatbot-threshold.json"] = threshold_certificate(bot, data, L, result)
    witness = proposition_3_3(bot, data, Fraction(1, 5), L, result.bounds)[0].witness
    out["chatbot-proposition-3.3-unsafe.json"] = unsafe_certificate(bot, data, Fraction(1, 5), L, witness,
                                                                    result.bounds)
    out["chatbot-safest.json"] = safest_certificate(bot, L, safest_distribution(bot, L))
    return out


def render(document: dict) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return write_instances(Path(args[0]) if args else INSTANCES, instances())


def write_instances(target: Path, documents: dict[str, dict]) -> int:
    """Check every certificate, then write it to ``target`` (exit status 1 if one is rejected)."""
    target.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        status, message, _ = check_certificate_document(document)
        if status != "verified":
            print(f"{name}: {status}: {message}", file=sys.stderr)
            return 1
        (target / name).write_text(render(document), encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
