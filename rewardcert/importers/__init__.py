"""Importers: bring models from other tools in as ``rewardcert/mdp-1`` files (docs/import.md).

* ``tabular``: the pure rules for a Gymnasium-style ``P[s][a] = [(p, s', r, done), ...]``
  table (rationalisation, merging, exact rows, one absorbing terminal).
* ``gym_import``: reads a Gymnasium environment (the only module that imports
  ``gymnasium``; an optional extra).
* ``prism_import``: builds a PRISM/JANI model exactly through stormpy (the only module
  that imports ``stormpy``; an optional extra).
* ``prism_export``: writes any model as a PRISM MDP (pure text, no stormpy).
* ``mdpfile``: renders a model as TOML and writes it atomically, after checking that
  the loader accepts the text and reads back the same model.
"""
