"""Write a model as a ``rewardcert/mdp-1`` TOML file that the loader provably accepts.

``write_model`` renders the text, parses it back with the loader's own code
(``rewardcert.symbolic.core.io.model_from_document``) and refuses to write unless that gives
the identical MDP; the file is then written by the toolkit's one atomic writer
(``rewardcert/output.py``), so a reader never sees half a file, an existing
file is never left truncated, and nothing but a regular file is replaced.
"""

from __future__ import annotations

import json
import os
import tomllib

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.io import MODEL_FORMAT, model_from_document
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import format_rational

from ..output import write_text


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else a JSON (= TOML basic) string."""
    if name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name):
        return name
    return json.dumps(name, ensure_ascii=False)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def model_to_toml(mdp: MDP, *, description: str | None = None, comment: str | None = None) -> str:
    """The model as TOML text in the ``rewardcert/mdp-1`` format (disabled pairs omitted),
    after ``comment`` as ``#`` lines."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()] if comment else []
    lines.append(f"format = {_string(MODEL_FORMAT)}")
    if mdp.name:
        lines.append(f"name = {_string(mdp.name)}")
    if description:
        lines.append(f"description = {_string(description)}")
    lines.append(f"gamma = {_string(format_rational(mdp.gamma))}")
    lines.append("states = [" + ", ".join(_string(s) for s in mdp.states) + "]")
    lines.append("actions = [" + ", ".join(_string(a) for a in mdp.actions) + "]")
    initial = ", ".join(f"{_key(s)} = {_string(format_rational(p))}" for s, p in zip(mdp.states, mdp.initial) if p)
    lines.append(f"initial = {{ {initial} }}")
    m = mdp.n_actions
    if mdp.has_disabled:
        lines += ["", "[enabled]"]
        for i, s in enumerate(mdp.states):
            acts = mdp.enabled_actions(i)
            if len(acts) < m:
                lines.append(f"{_key(s)} = [" + ", ".join(_string(mdp.actions[a]) for a in acts) + "]")
    for i, s in enumerate(mdp.states):
        lines += ["", f"[reward.{_key(s)}]"]
        for a in mdp.enabled_actions(i):
            lines.append(f"{_key(mdp.actions[a])} = {_string(format_rational(mdp.reward[i * m + a]))}")
    if mdp.transitions is not None:
        for i, s in enumerate(mdp.states):
            lines += ["", f"[transitions.{_key(s)}]"]
            for a in mdp.enabled_actions(i):
                row = ", ".join(f"{_key(mdp.states[t])} = {_string(format_rational(p))}"
                                for t, p in mdp.transitions[i * m + a])
                lines.append(f"{_key(mdp.actions[a])} = {{ {row} }}")
    return "\n".join(lines) + "\n"


def checked_toml(mdp: MDP, *, description: str | None = None, comment: str | None = None) -> str:
    """``model_to_toml``, parsed back by the loader: it must give exactly ``mdp``."""
    text = model_to_toml(mdp, description=description, comment=comment)
    again, _ = model_from_document(tomllib.loads(text))
    if again != mdp:
        raise RewardcertError("internal error: the rendered model does not read back as the same model")
    return text


def write_model(path: str | os.PathLike, mdp: MDP, *, description: str | None = None,
                comment: str | None = None) -> str:
    """Write ``mdp`` as a checked ``rewardcert/mdp-1`` TOML file; returns the text written."""
    text = checked_toml(mdp, description=description, comment=comment)
    write_text(path, text, what="model")
    return text
