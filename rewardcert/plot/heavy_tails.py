"""The picture of catastrophic Goodhart: the soft optimum's true gain and KL against a family's size,
a heavy-tailed family beside a light-tailed one (``rewardcert goodhart --family ... --plot``).

The values drawn are the midpoints of certified enclosures far narrower than a pixel; floats
appear only here, for drawing."""

from __future__ import annotations

from .backend import load_matplotlib, picture_format, save


def check_picture(path: str) -> str:
    """The picture's format, refused (exit 2) before any work when it cannot be written; ``-`` is
    refused too, since the report already goes to standard output."""
    if path == "-":
        from rewardcert.symbolic.core.errors import ModelError
        raise ModelError("--plot needs a file name (the report is on standard output)", entry="--plot")
    return picture_format(path)


def counterpart(family):
    """The family drawn beside ``family`` by default: the light tail for a heavy one and back;
    none for ``pareto`` (the Thm 3 counterexample has no light twin)."""
    from rewardcert.symbolic.optimisers.tail_families import Family
    from fractions import Fraction
    if family.name == "pareto":
        return None
    if family.name in ("power", "subgauss"):
        return Family("subgauss", None) if family.alpha is not None else Family("power", Fraction(2))
    return Family("product", None) if family.alpha is not None else Family("product", Fraction(2))


def _middle(enclosure) -> float:
    return float((enclosure.lower + enclosure.upper) / 2)


def plot_families(reports, path: str, *, stdout=None) -> None:
    """Two panels over ``N`` (log scale): the true gain, and ``KL(π*_β ‖ Q)``; one line per family."""
    Figure, FigureCanvasAgg, _ = load_matplotlib()
    extension = picture_format(path)
    figure = Figure(figsize=(9.5, 4))
    FigureCanvasAgg(figure)
    gain_axes, kl_axes = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    styles = ("o-", "s--", "^:")
    for report, style in zip(reports, styles):
        sizes = [n for n, _ in report.rows]
        tail = "light tail" if report.family.alpha is None else "heavy tail"
        label = f"{report.family.label} ({tail})"
        gain_axes.plot(sizes, [_middle(r.soft_optimum.true_gain) for _, r in report.rows], style, label=label)
        kl_axes.plot(sizes, [_middle(r.soft_optimum.kl) for _, r in report.rows], style, label=label)
    beta = reports[0].rows[0][1].options.beta if reports and reports[0].rows else None
    for axes, title in ((gain_axes, "true gain E V - E_Q V of the soft optimum"),
                        (kl_axes, "KL(soft optimum || Q)")):
        axes.set_xscale("log")
        axes.set_xlabel("size N (tail outputs)")
        axes.set_title(title, fontsize=10)
        axes.grid(True, alpha=0.3)
    gain_axes.axhline(0, color="grey", linewidth=0.8)
    gain_axes.legend(fontsize=8)
    figure.suptitle(f"catastrophic Goodhart, beta = {beta}: certified values (enclosures narrower than the marks)",
                    fontsize=10)
    save(figure, path, extension, stdout=stdout)
