"""Shell completion for ``rewardcert``, through argcomplete when it is installed (optional).

This is the only module that imports argcomplete. Without it the command works
exactly the same and simply offers no completion; ``rewardcert`` never needs
it, so its absence is not an error. To enable completion in bash::

    pip install 'rewardcert[completion]'
    eval "$(register-python-argcomplete rewardcert)"
"""

from __future__ import annotations

import argparse
import os


def enable(parser: argparse.ArgumentParser) -> bool:
    """Answer a shell's completion request and exit, if this run is one; else return at once.

    Returns whether argcomplete is available.  It acts only when the shell set
    ``_ARGCOMPLETE`` (argcomplete's protocol), so ordinary runs pay one
    environment look-up and do not even import it."""
    if "_ARGCOMPLETE" not in os.environ:
        return True
    try:
        import argcomplete
    except ImportError:
        return False
    argcomplete.autocomplete(parser)
    return True
