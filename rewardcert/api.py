"""Numbers at the Python API's door: every public function reads them like the CLI does.

``exact_api(function)`` wraps a public function so that its numeric
parameters (``EXACT_SCALARS``) and number sequences (``EXACT_VECTORS``) accept
``Fraction``, ``int``, ``"p/q"`` and decimal strings, and refuse a ``float``
with the command line's message (a ``RewardcertError``).  New public
functions get the same treatment by being listed in ``rewardcert.__init__``'s
``_EXACT_API`` (or by ``rewardcert.symbolic.core.numbers.exact_arguments`` directly).
"""

from __future__ import annotations

import inspect

from rewardcert.symbolic.core.numbers import exact_arguments

EXACT_SCALARS = ("regret_bound", "epsilon", "stop_below")
EXACT_VECTORS = ("data", "reward", "values")


def exact_api(function):
    parameters = inspect.signature(function).parameters
    scalars = tuple(name for name in EXACT_SCALARS if name in parameters)
    vectors = tuple(name for name in EXACT_VECTORS if name in parameters)
    if not scalars and not vectors:
        return function
    return exact_arguments(*scalars, vectors=vectors)(function)
