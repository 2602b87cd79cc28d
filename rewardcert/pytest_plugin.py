"""pytest plugin (entry point ``rewardcert``): assert certificates and theorem instances in CI.

Installed with rewardcert, it is active in every pytest run.  Two ways to use it
(see ``docs/pytest-plugin.md``):

* **Certificate files as tests.**  List glob patterns in the ini option
  ``rewardcert_certificates``. Every matching ``.json`` file under a collected
  directory becomes a test that the standalone checker must ``VERIFY``::

      [tool.pytest.ini_options]
      testpaths = ["tests", "certificates"]
      rewardcert_certificates = ["certificates/*.json"]

* **Fixtures.** ``rewardcert_check(path_or_document)`` asserts that a
  certificate verifies. ``rewardcert_certify(model, ...)`` asserts a verdict
  and that its certificate verifies. ``rewardcert_theorems(model, ...)``
  asserts that no theorem of the paper disagrees with the exact truth on the
  instance.
"""

from __future__ import annotations

import fnmatch
import json
import os
from fractions import Fraction
from pathlib import Path

import pytest

INI_PATTERNS = "rewardcert_certificates"
INI_MANIFESTS = "rewardcert_manifests"
_COLLECTED = pytest.StashKey[set]()


class RewardcertPluginWarning(pytest.PytestWarning):
    """A ``rewardcert_certificates`` pattern matches certificates that pytest does not collect."""


def pytest_addoption(parser):
    parser.addini(INI_PATTERNS, type="linelist", default=[],
                  help="glob patterns (relative to the rootdir) of rewardcert certificates to verify as tests")
    parser.addini(INI_MANIFESTS, type="linelist", default=[],
                  help="glob patterns (relative to the rootdir) of rewardcert manifests; each check is a test")


def pytest_collect_file(parent, file_path: Path):
    manifests = parent.config.getini(INI_MANIFESTS)
    if manifests and file_path.suffix in (".toml", ".json"):
        relative = os.path.relpath(file_path, parent.config.rootpath)
        if any(fnmatch.fnmatch(relative, pattern) for pattern in manifests):
            return ManifestFile.from_parent(parent, path=file_path)
    patterns = parent.config.getini(INI_PATTERNS)
    if not patterns or file_path.suffix != ".json":
        return None
    relative = os.path.relpath(file_path, parent.config.rootpath)
    if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
        parent.config.stash.setdefault(_COLLECTED, set()).add(Path(file_path).resolve())
        return CertificateFile.from_parent(parent, path=file_path)
    return None


def uncollected_certificates(config) -> tuple[list[str], list[str]]:
    """(patterns matching no file at all, matching files pytest did not collect), relative to the rootdir."""
    root = Path(config.rootpath)
    collected = config.stash.get(_COLLECTED, set())
    empty, missed = [], set()
    for pattern in config.getini(INI_PATTERNS):
        matched = [p for p in root.glob(pattern) if p.is_file() and p.suffix == ".json"]
        if not matched:
            empty.append(pattern)
        missed.update(os.path.relpath(p, root) for p in matched if p.resolve() not in collected)
    return empty, sorted(missed)


def pytest_collection_finish(session):
    """Warn when ``rewardcert_certificates`` checks less than it names: a folder left out of
    ``testpaths`` would otherwise check zero certificates with a green run.  Runs that name
    their own paths on the command line chose a subset, and are not warned."""
    config = session.config
    if not config.getini(INI_PATTERNS):
        return
    if getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS:
        return
    empty, missed = uncollected_certificates(config)
    for pattern in empty:
        _warn(f"{INI_PATTERNS} pattern {pattern!r} matches no .json file under {config.rootpath}")
    if missed:
        shown = ", ".join(missed[:5]) + (f" and {len(missed) - 5} more" if len(missed) > 5 else "")
        _warn(f"{len(missed)} certificate(s) matched by {INI_PATTERNS} are not collected, so they are not "
              f"checked: {shown}. Add their folder to testpaths (or to the pytest command line).")


def _warn(message: str) -> None:
    """A ``RewardcertPluginWarning``; where ``-W error`` makes it an error, a clean usage error (exit 4)
    instead of a warning raised inside pytest's collection hook (an INTERNALERROR, exit 3)."""
    import warnings
    try:
        warnings.warn(RewardcertPluginWarning(message))
    except RewardcertPluginWarning as error:
        raise pytest.UsageError(f"rewardcert: {error}") from None


class CertificateRejected(Exception):
    pass


class CertificateFile(pytest.File):
    def collect(self):
        yield CertificateItem.from_parent(self, name="certificate")


class CertificateItem(pytest.Item):
    def runtest(self):
        from rewardcert.proofs import checker
        status, message, _ = checker.check_file(str(self.path))
        if status != "verified":
            raise CertificateRejected(f"{status.upper()}: {message}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CertificateRejected):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"rewardcert certificate {self.path.name}"


class ManifestFile(pytest.File):
    """A ``rewardcert/manifest-1`` file (``rewardcert_manifests``): one test per check."""

    def collect(self):
        from rewardcert.cli import build_parser
        from rewardcert.commands import REGISTRY
        from rewardcert.manifest import load_manifest
        manifest = load_manifest(str(self.path), {entry.name for entry in REGISTRY})
        shared: dict = {}                     # the checks share models read, as `rewardcert run` does
        parser = build_parser()
        for check in manifest.checks:
            yield ManifestItem.from_parent(self, name=check.name, check=check, shared=shared, parser=parser)


class ExpectationFailed(Exception):
    pass


class ManifestItem(pytest.Item):
    def __init__(self, *, check, shared, parser, **kwargs):
        super().__init__(**kwargs)
        self.check, self.shared, self.parser = check, shared, parser

    def runtest(self):
        from rewardcert.manifest import run_check
        outcome = run_check(self.check, self.parser, shared=self.shared, out_dir=None)
        if not outcome.passed:
            raise ExpectationFailed(outcome.error or "; ".join(outcome.failures))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ExpectationFailed):
            return f"{self.path} [{self.check.name}]: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"rewardcert check {self.check.name}"


def _as_fraction(value) -> Fraction:
    from rewardcert.symbolic.core.numbers import parse_rational
    return value if isinstance(value, Fraction) else parse_rational(value)


@pytest.fixture
def rewardcert_check():
    """``rewardcert_check(path or dict) -> facts``; fails the test unless the checker verifies it."""
    from rewardcert.proofs import checker

    def check(certificate):
        if isinstance(certificate, (str, os.PathLike)):
            status, message, facts = checker.check_file(os.fspath(certificate))
        else:
            status, message, facts = checker.check_document(json.loads(json.dumps(certificate)))
        assert status == "verified", f"certificate {status}: {message}"
        return facts

    return check


@pytest.fixture
def rewardcert_certify(rewardcert_check):
    """``rewardcert_certify(model, data=None, *, epsilon, regret, expect=None) -> certificate``.

    Decides safety exactly, asserts ``expect`` ("safe"/"unsafe") if given, and
    asserts that the emitted certificate verifies.  ``data`` is a file path,
    ``"uniform"``, or None for the model's own ``[data]`` table."""
    from rewardcert.certificates import safety_certificate
    from rewardcert.symbolic.core.io import load_model, resolve_data
    from rewardcert.symbolic.search.engine import critical_epsilon

    def certify(model, data=None, *, epsilon, regret, expect=None):
        loaded = load_model(model)
        distribution = resolve_data(None if data is None else os.fspath(data), loaded)
        eps, L = _as_fraction(epsilon), _as_fraction(regret)
        result = critical_epsilon(loaded.mdp, distribution, L)
        certificate = safety_certificate(loaded.mdp, distribution, eps, L, result)
        if expect is not None:
            assert certificate["verdict"] == expect, \
                f"expected {expect}, got {certificate['verdict']} (eps*(D) = {result.critical_epsilon})"
        rewardcert_check(certificate)
        return certificate

    return certify


@pytest.fixture
def rewardcert_theorems():
    """``rewardcert_theorems(model, data=None, *, epsilon, regret) -> TheoremReport``;
    fails the test if any of the paper's conclusions disagrees with the exact truth."""
    from rewardcert.symbolic.core.io import load_model, resolve_data
    from rewardcert.theorem_checks import theorem_instances

    def run(model, data=None, *, epsilon, regret):
        loaded = load_model(model)
        distribution = resolve_data(None if data is None else os.fspath(data), loaded)
        report = theorem_instances(loaded.mdp, distribution, _as_fraction(epsilon), _as_fraction(regret),
                                   name=loaded.mdp.name or str(model))
        assert not report.disagreements, "; ".join(
            f"{c.result}: concluded {c.conclusion!r} but the truth is {c.truth!r}" for c in report.disagreements)
        return report

    return run
