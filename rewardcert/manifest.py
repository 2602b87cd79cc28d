"""Manifests (``rewardcert/manifest-1``, docs/manifest.md): many questions, with expected answers, run
in one process, reported as a table, JSON and JUnit XML.

A manifest is a TOML file with ``[[check]]`` tables.  Each check names a command and its options
(paths relative to the manifest's folder) and what is expected of the answer: an exit status, a
verdict, the critical error, or any key of the command's ``--json`` document.  The checks run in
this process, in order, sharing each model read and its ``J*``/``J^min`` (``--jobs N`` spreads them
over N worker processes instead).  A check passes when every expectation holds.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC
from fractions import Fraction
from typing import Any

from rewardcert.symbolic.core.errors import ModelError, RewardcertError
from rewardcert.symbolic.core.io import read_document

MANIFEST_FORMAT = "rewardcert/manifest-1"
MAX_CHECKS = 10_000
FLAGS = {"data": "--data", "epsilon": "--epsilon", "regret": "--regret", "lambda": "--lambda",
         "reference": "--reference", "error": "--error", "timeout": "--timeout", "max_nodes": "--max-nodes",
         "estimate": "--estimate", "policy": "--policy", "horizon": "--horizon", "init": "--init",
         "step": "--step", "target": "--target", "beta": "--beta", "family": "--family", "sizes": "--sizes"}
"""Check keys that become ``--option VALUE`` (any other option goes in ``options = [...]``)."""
PATHS = {"model", "data", "reference", "estimate", "policy", "init"}
"""Keys whose value is a file path (relative to the manifest), unless it is ``uniform``/``reference``."""
EXPECT_KEYS = {"exit", "verdict", "critical_epsilon", "contains", "json"}


@dataclass(frozen=True)
class Check:
    name: str
    command: str
    argv: tuple[str, ...]
    expect: dict
    certificate: bool            # write this check's certificate into --out DIR


@dataclass(frozen=True)
class Outcome:
    check: Check
    status: int                  # the command's exit status
    document: dict | None        # its --json document (None when it failed before printing one)
    failures: tuple[str, ...]    # expectations that did not hold
    error: str | None            # a usage, input or internal error
    seconds: float
    certificate: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass(frozen=True)
class Manifest:
    path: str
    name: str
    checks: tuple[Check, ...]
    outcomes: tuple[Outcome, ...] = field(default=())


def load_manifest(path: str, commands: set[str]) -> Manifest:
    """The manifest's checks, each refused (``ModelError``, naming the file and the check) when it
    names a command not in ``commands``, an unknown key, or an expectation the runner cannot judge."""
    table = read_document(path)
    where = os.path.dirname(os.path.abspath(path))
    if table.get("format") != MANIFEST_FORMAT:
        raise ModelError(f"format must be {MANIFEST_FORMAT!r}", file=path, entry="format")
    unknown = set(table) - {"format", "name", "description", "check"}
    if unknown:
        raise ModelError(f"unknown key {min(unknown)!r}", file=path)
    raw = table.get("check")
    if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
        raise ModelError("expected one or more [[check]] tables", file=path, table="check")
    if len(raw) > MAX_CHECKS:
        raise ModelError(f"{len(raw)} checks; at most {MAX_CHECKS}", file=path, table="check")
    commands = set(commands) - {"run", "import", "export", "plot"}
    checks, names = [], set()
    for index, item in enumerate(raw, 1):
        label = f"check[{index}]"
        name = str(item.get("name", f"{item.get('command', '?')} #{index}"))
        if name in names:
            raise ModelError(f"two checks are named {name!r}", file=path, table=label)
        names.add(name)
        checks.append(_check(item, name, label, path, where, commands))
    return Manifest(path, str(table.get("name") or os.path.basename(path)), tuple(checks))


def _check(item: dict, name: str, label: str, path: str, where: str, commands: set[str]) -> Check:
    command = item.get("command")
    if command not in commands:
        raise ModelError(f"command must be one of {', '.join(sorted(commands))}, got {command!r}",
                         file=path, table=label, entry="command")
    allowed = {"name", "command", "model", "expect", "options", "certificate"} | set(FLAGS)
    unknown = set(item) - allowed
    if unknown:
        raise ModelError(f"unknown key {min(unknown)!r} (options go in options = [...])",
                         file=path, table=label)
    argv = [command]
    if command == "check" and "model" not in item:
        raise ModelError("a check of a certificate names it as model = \"CERT.json\"", file=path, table=label)
    if "model" in item:
        argv.append(_path(item["model"], where, path, label, "model"))
    for key, flag in FLAGS.items():
        if key in item:
            value = item[key]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ModelError(f"{key} must be a string or an integer (quote rationals: \"1/5\")",
                                 file=path, table=label, entry=key)
            text = str(value)
            if key in PATHS and text not in ("uniform", "reference"):
                text = _path(text, where, path, label, key)
            argv += [flag, text]
    options = item.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ModelError("options must be a list of strings", file=path, table=label, entry="options")
    argv += options
    expect = item.get("expect", {})
    if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
        raise ModelError(f"expect takes {', '.join(sorted(EXPECT_KEYS))}", file=path, table=label, entry="expect")
    if "json" in expect and not isinstance(expect["json"], dict):
        raise ModelError("expect.json maps dotted keys of the --json document to values", file=path,
                         table=label, entry="expect.json")
    return Check(name, command, tuple(argv), expect, bool(item.get("certificate", False)))


def _path(value, where: str, path: str, label: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ModelError(f"{key} must be a file name", file=path, table=label, entry=key)
    return value if os.path.isabs(value) else os.path.join(where, value)


# -- running ---------------------------------------------------------------------------------------

def run_check(check: Check, parser, *, shared: dict, out_dir: str | None, interrupts=None,
              timeout=None) -> Outcome:
    """One check in this process, parsed by ``parser`` (the command line's; each command's run is its
    ``run`` default) and run with its ``--json`` captured."""
    argv = list(check.argv) + ["--json"]
    certificate = None
    if out_dir and check.certificate:
        certificate = os.path.join(out_dir, _file_name(check.name))
        argv += ["--out", certificate]
    if timeout is not None and "--timeout" not in argv and check.command in ("certify", "threshold", "safest", "matrix"):
        argv += ["--timeout", str(timeout)]
    started = time.monotonic()
    captured = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(io.StringIO()):
            args = parser.parse_args(argv)
            args.started, args.interrupts, args.stdout, args.shared = started, interrupts, captured, shared
            status = args.run(args)
    except SystemExit:                         # argparse: a usage error in the manifest's options
        status, error = 2, f"usage: {' '.join(argv)}"
    except RewardcertError as exc:
        status, error = 2, str(exc)
    except Exception as exc:                   # a bug: reported as such, the other checks still run
        status, error = 70, f"internal error: {type(exc).__name__}: {exc}"
    document = None
    if captured.getvalue().strip():
        try:
            document = json.loads(captured.getvalue())
        except ValueError:
            document = None
    failures = () if error else tuple(judge(check.expect, status, document))
    return Outcome(check, status, document, failures, error, time.monotonic() - started,
                   certificate if error is None and certificate and os.path.exists(certificate) else None)


def _file_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "check"
    return safe + ".json"


def judge(expect: dict, status: int, document: dict | None) -> list[str]:
    """The expectations that do not hold (each as a sentence)."""
    wrong = []
    if "exit" in expect and status != int(expect["exit"]):
        wrong.append(f"exit status {status}, expected {expect['exit']}")
    if document is None:
        return wrong + (["no JSON answer"] if set(expect) - {"exit"} else [])
    if "verdict" in expect and document.get("verdict") != expect["verdict"]:
        wrong.append(f"verdict {document.get('verdict')!r}, expected {expect['verdict']!r}")
    if "critical_epsilon" in expect:
        got = document.get("critical_epsilon")
        if got is None or not _same_number(got, expect["critical_epsilon"]):
            wrong.append(f"critical_epsilon {got!r}, expected {expect['critical_epsilon']!r}")
    if "contains" in expect:
        interval = document.get("interval") or {}
        value = Fraction(str(expect["contains"]))
        low, high = interval.get("lower"), interval.get("upper")
        inside = low is not None and Fraction(low) <= value and (high in (None, "inf") or value <= Fraction(high))
        if not inside:
            wrong.append(f"interval [{low}, {high}] does not contain {expect['contains']}")
    for key, value in (expect.get("json") or {}).items():
        got = _lookup(document, key)
        if not _same_value(got, value):
            wrong.append(f"{key} = {json.dumps(got)}, expected {json.dumps(value)}")
    return wrong


def _same_number(got, wanted) -> bool:
    try:
        return Fraction(str(got)) == Fraction(str(wanted))
    except (ValueError, ZeroDivisionError):
        return str(got) == str(wanted)


def _same_value(got, wanted) -> bool:
    if isinstance(wanted, str) and isinstance(got, str) and "/" in wanted + got:
        return _same_number(got, wanted)
    return got == wanted


def _lookup(document: Any, dotted: str):
    for part in dotted.split("."):
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def run_manifest(manifest: Manifest, parser_factory, *, out_dir: str | None = None, jobs: int = 1, progress=None,
                 interrupts=None, timeout: float | None = None) -> Manifest:
    """Every check, in order (``jobs > 1``: on worker processes); stops early after an interrupt.
    ``parser_factory()`` builds the command line's parser (it is passed in, so that this module does
    not import the commands that import it)."""
    if jobs > 1:
        return _run_parallel(manifest, parser_factory, out_dir, jobs, progress, timeout)
    parser = parser_factory()
    shared: dict = {}
    outcomes = []
    for index, check in enumerate(manifest.checks, 1):
        outcome = run_check(check, parser, shared=shared, out_dir=out_dir, interrupts=interrupts, timeout=timeout)
        outcomes.append(outcome)
        if progress:
            progress(index, len(manifest.checks), outcome)
        if interrupts is not None and interrupts.stop_requested():
            break
    return Manifest(manifest.path, manifest.name, manifest.checks, tuple(outcomes))


def _worker(check: Check, parser_factory, out_dir, timeout) -> Outcome:
    return run_check(check, parser_factory(), shared={}, out_dir=out_dir, timeout=timeout)


def _run_parallel(manifest: Manifest, parser_factory, out_dir, jobs: int, progress, timeout) -> Manifest:
    import concurrent.futures
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_worker, check, parser_factory, out_dir, timeout) for check in manifest.checks]
        outcomes = []
        for index, future in enumerate(futures, 1):
            outcomes.append(future.result())
            if progress:
                progress(index, len(futures), outcomes[-1])
    return Manifest(manifest.path, manifest.name, manifest.checks, tuple(outcomes))


# -- reports ---------------------------------------------------------------------------------------

def junit_xml(manifest: Manifest) -> str:
    """The outcomes as JUnit XML (``testsuites`` > ``testsuite`` > ``testcase``, with ``failure`` for an
    expectation that did not hold and ``error`` for a usage, input or internal error)."""
    import platform
    from datetime import datetime
    from xml.etree import ElementTree as ET
    outcomes = manifest.outcomes
    failures = sum(1 for o in outcomes if o.failures and o.error is None)
    errors = sum(1 for o in outcomes if o.error is not None)
    skipped = len(manifest.checks) - len(outcomes)
    total = f"{sum(o.seconds for o in outcomes):.3f}"
    suites = ET.Element("testsuites", name="rewardcert", tests=str(len(manifest.checks)), failures=str(failures),
                        errors=str(errors), skipped=str(skipped), time=total)
    suite = ET.SubElement(suites, "testsuite", name=manifest.name, tests=str(len(manifest.checks)),
                          failures=str(failures), errors=str(errors), skipped=str(skipped), time=total,
                          timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                          hostname=platform.node() or "localhost")
    classname = "rewardcert." + "".join(c if c.isalnum() else "_" for c in manifest.name)
    for outcome in outcomes:
        case = ET.SubElement(suite, "testcase", name=outcome.check.name, classname=classname,
                             time=f"{outcome.seconds:.3f}")
        if outcome.error is not None:
            ET.SubElement(case, "error", message=outcome.error[:500], type="error").text = outcome.error
        elif outcome.failures:
            ET.SubElement(case, "failure", message="; ".join(outcome.failures)[:500],
                          type="expectation").text = "\n".join(outcome.failures)
        ET.SubElement(case, "system-out").text = " ".join(["rewardcert", *outcome.check.argv])
    for check in manifest.checks[len(outcomes):]:
        case = ET.SubElement(suite, "testcase", name=check.name, classname=classname, time="0")
        ET.SubElement(case, "skipped", message="not run: the manifest run was interrupted")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def summary_json(manifest: Manifest) -> dict:
    return {"manifest": manifest.name, "checks": len(manifest.checks),
            "passed": sum(o.passed for o in manifest.outcomes),
            "failed": sum(1 for o in manifest.outcomes if not o.passed),
            "not_run": len(manifest.checks) - len(manifest.outcomes),
            "results": [{"name": o.check.name, "command": o.check.command, "passed": o.passed,
                         "exit_status": o.status, "failures": list(o.failures), "error": o.error,
                         "seconds": round(o.seconds, 3), "certificate": o.certificate, "answer": o.document}
                        for o in manifest.outcomes]}


__all__ = [
    "MANIFEST_FORMAT",
    "Check",
    "Manifest",
    "Outcome",
    "judge",
    "junit_xml",
    "load_manifest",
    "run_check",
    "run_manifest",
    "summary_json",
]
