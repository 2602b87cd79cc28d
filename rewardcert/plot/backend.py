"""The fence around matplotlib: the only module of rewardcert that imports it (the ``plot`` extra).

Pictures are drawn in memory with the Agg canvas and written atomically (``rewardcert/output.py``),
so a failed or interrupted save never leaves half a file.
"""

from __future__ import annotations

import io
import os

from rewardcert.symbolic.core.errors import BackendUnavailable, ModelError

INSTALL_HINT = "matplotlib is needed for plots: pip install 'rewardcert[plot]'"


def load_matplotlib():
    """``(Figure, FigureCanvasAgg, tri)``; ``BackendUnavailable`` with the install hint without it."""
    try:
        from matplotlib import tri
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise BackendUnavailable(INSTALL_HINT) from None
    return Figure, FigureCanvasAgg, tri


def path_effects():
    """matplotlib's ``patheffects`` (outlined labels)."""
    from matplotlib import patheffects
    return patheffects


def picture_format(output: str) -> str:
    """The image format of ``output`` (``png`` for ``-``), refused with exit 2 when the canvas cannot
    write it or its folder is missing."""
    Figure, FigureCanvasAgg, _ = load_matplotlib()
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    extension = "png" if output == "-" else os.path.splitext(output)[1].lower().lstrip(".")
    if extension not in formats:
        raise ModelError(f"cannot tell the image format from {output!r}: end the name with "
                         ".png (or .svg, .pdf)", entry="-o")
    folder = os.path.dirname(output) or "."
    if output != "-" and not os.path.isdir(folder):
        raise ModelError(f"the folder {folder!r} does not exist (create it first, e.g. mkdir -p {folder})",
                         entry="-o")
    return extension


def save(figure, output: str, extension: str, *, stdout=None) -> None:
    """Render ``figure`` in memory and write it atomically to ``output`` (``-``: standard output)."""
    from ..output import write_bytes
    picture = io.BytesIO()
    figure.savefig(picture, format=extension, dpi=110, bbox_inches="tight", pad_inches=0.25)
    write_bytes(output, picture.getvalue(), what="picture", stdout=stdout)
