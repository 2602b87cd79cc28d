"""The standalone certificate checker: trust boundary, verdicts, tampering, malformed input."""

import ast
import copy
import json
import random
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.io import data_from_table, load_model, model_from_document
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.core.numbers import parse_rational
from rewardcert.symbolic.search.engine import critical_epsilon

from rewardcert.certificates import safety_certificate, threshold_certificate
from rewardcert.cli import main
from tests.conftest import EXAMPLES, ROOT
from tests.strategies import distributions, mdps

CHECKER = ROOT / "proofs" / "checker.py"
TOOLKIT = {"symbolic", "smt", "lp", "rewardcert", "proofs", "sympy", "z3", "pulp", "numpy", "flint"}


# -- trust boundary ----------------------------------------------------------------

def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.add("." * node.level + (node.module or ""))
            else:
                names.add(node.module.split(".")[0])
    return names


def relative_target(path: Path, module: str) -> Path | None:
    """The file a relative import ``module`` (``".x.y"``) of ``path`` loads, if it exists."""
    level = len(module) - len(module.lstrip("."))
    base = path.parent
    for _ in range(level - 1):
        base = base.parent
    target = base.joinpath(*module[level:].split(".")) if module[level:] else base
    for candidate in (target / "__init__.py", target.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def test_checker_imports_only_the_standard_library():
    # Relative imports may only load the checker's own files under proofs/, each scanned here too.
    proofs = ROOT / "proofs"
    for path in proofs.rglob("*.py"):
        modules = imported_modules(path)
        for module in (m for m in modules if m.startswith(".")):
            target = relative_target(path, module)
            assert target is not None and proofs in target.resolve().parents, (path, module)
        modules = {m for m in modules if not m.startswith(".")}
        assert not modules & TOOLKIT, (path, modules & TOOLKIT)
        assert modules <= set(sys.stdlib_module_names) | {"__future__"}, (path, modules)


def figure4_threshold(tmp_path) -> Path:
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(mdp)
    path = tmp_path / "figure4.json"
    path.write_text(json.dumps(threshold_certificate(mdp, D, F(4, 5), critical_epsilon(mdp, D, F(4, 5)))))
    return path


def test_checker_runs_as_a_script_without_site_packages(tmp_path):
    cert = figure4_threshold(tmp_path)
    # -I: isolated (no cwd, no user site, no PYTHON* env), -S: no site-packages at all.
    done = subprocess.run([sys.executable, "-I", "-S", str(CHECKER), str(cert)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "VERIFIED"), done.stderr


# -- verdicts on the paper's instances ---------------------------------------------------

def certificates_for(mdp, D, L, epsilons):
    result = critical_epsilon(mdp, D, L)
    docs = [threshold_certificate(mdp, D, L, result)]
    docs += [safety_certificate(mdp, D, eps, L, result) for eps in epsilons]
    return result, docs


@pytest.mark.parametrize("name, L", [("figure4.toml", F(4, 5)), ("example-d14.toml", F(1, 2)),
                                     ("chatbot.toml", F(1, 2)), ("chain3.toml", F(1, 2))])
def test_certificates_of_the_examples_verify(name, L):
    loaded = load_model(EXAMPLES / name)
    D = loaded.data or uniform_distribution(loaded.mdp)
    result, docs = certificates_for(loaded.mdp, D, L, [F(1, 100), F(1, 5), F(1, 2)])
    for doc in docs:
        status, message, _ = checker.check_document(doc)
        assert status == "verified", message


def test_a_wrong_threshold_claim_is_rejected():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(mdp)
    doc = threshold_certificate(mdp, D, F(4, 5), critical_epsilon(mdp, D, F(4, 5)))
    for claim in ("1/4", "1/2", "inf", "0"):
        bad = copy.deepcopy(doc)
        bad["instance"]["epsilon"] = claim
        status, message, _ = checker.check_document(bad)
        assert status == "rejected", claim


def test_safe_and_unsafe_claims_cannot_be_swapped():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(mdp)
    result = critical_epsilon(mdp, D, F(4, 5))
    safe = safety_certificate(mdp, D, F(1, 5), F(4, 5), result)
    unsafe = safety_certificate(mdp, D, F(1, 2), F(4, 5), result)
    # the safe tree at a larger epsilon, and the witness at a smaller one
    safe["instance"]["epsilon"] = "1/2"
    unsafe["instance"]["epsilon"] = "1/5"
    assert checker.check_document(safe)[0] == "rejected"
    assert checker.check_document(unsafe)[0] == "rejected"


# -- tampering --------------------------------------------------------------------------

def claim_is_true(doc) -> bool:
    """Decide a certificate's claim with the exact engine (the oracle for verified mutants)."""
    try:
        inst = doc["instance"]
        mdp, _ = model_from_document(inst["model"])
        D = data_from_table(mdp, inst["data"])
        L = parse_rational(inst["regret_bound"])
        if not (0 < L <= 1):
            return False
        result = critical_epsilon(mdp, D, L)
        if doc["verdict"] == "threshold":
            if inst["epsilon"] == "inf":
                return result.critical_epsilon is None
            return result.critical_epsilon == parse_rational(inst["epsilon"])
        eps = parse_rational(inst["epsilon"])
        if eps <= 0:
            return False
        safe = result.critical_epsilon is None or eps < result.critical_epsilon
        return safe == (doc["verdict"] == "safe")
    except (RewardcertError, KeyError, TypeError, AttributeError):
        return False


def mutations(doc):
    """(description, mutated document) pairs: numbers, names, keys, types."""
    model = doc["instance"]["model"]
    names = list(model["states"]) + list(model["actions"]) + ["bogus"]

    def walk(node, path):
        if isinstance(node, dict):
            for key in list(node):
                yield path + [key], node[key]
                yield from walk(node[key], path + [key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield path + [i], item

    def variants(value):
        if isinstance(value, str):
            try:
                r = parse_rational(value)
                for new in (r + 1, r - 1, -r, r * 2, r / 3, F(0), F(1)):
                    yield str(new)
                yield "1/0"
                yield 0.5
            except RewardcertError:
                for name in names:
                    if name != value:
                        yield name
            yield None
            yield 7
        elif isinstance(value, (dict, list)):
            yield "x"
            yield {}
            yield []

    for path, value in walk(doc, []):
        for new in variants(value):
            mutated = copy.deepcopy(doc)
            target = mutated
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = new
            yield f"{path} = {new!r}", mutated
        if isinstance(path[-1], str):
            mutated = copy.deepcopy(doc)
            target = mutated
            for key in path[:-1]:
                target = target[key]
            del target[path[-1]]
            yield f"del {path}", mutated
            for name in names[:3]:
                if name != path[-1]:
                    mutated = copy.deepcopy(doc)
                    target = mutated
                    for key in path[:-1]:
                        target = target[key]
                    target[name] = target.pop(path[-1])
                    yield f"rename {path} -> {name}", mutated


def assert_tamper_proof(doc, sample=None, seed=0):
    muts = list(mutations(doc))
    if sample is not None and len(muts) > sample:
        muts = random.Random(seed).sample(muts, sample)
    for description, mutated in muts:
        status, message, facts = checker.check_document(mutated)
        assert facts.get("rule") != "internal-error", (description, message)
        if status == "verified":
            assert claim_is_true(mutated), f"verified a false claim after {description}"


def test_tampering_with_figure4_certificates_is_caught_or_harmless():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    for D in (uniform_distribution(mdp), (F(1, 2), F(2, 5), F(1, 10))):
        _, docs = certificates_for(mdp, D, F(4, 5), [F(1, 5), F(1, 2)])
        for doc in docs:
            assert_tamper_proof(doc)


@settings(max_examples=12)
@given(st.data())
def test_tampering_with_random_certificates_is_caught_or_harmless(data):
    mdp = data.draw(mdps(max_states=2, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    _, docs = certificates_for(mdp, D, L, [F(1, 10)])
    for index, doc in enumerate(docs):
        assert_tamper_proof(doc, sample=120, seed=index)


# -- reading numbers fast --------------------------------------------------------------

@settings(max_examples=400)
@given(st.one_of(st.text(alphabet="0123456789-+/ .e\u0661", max_size=12), st.integers(), st.booleans(),
                 st.floats(allow_nan=False), st.none()))
def test_the_plain_number_reader_agrees_with_the_full_one(value):
    """``plain_rational`` (the leaves' fast path) accepts only ASCII integers and ``p/q`` without
    spaces or ``+``, and reads them as ``rational`` (and the standard library) do."""
    plain = checker.plain_rational(value)
    try:
        full = checker.rational(value, "r", "here")
    except checker.Reject:
        full = None
    if plain is None:
        return
    p, q = plain
    assert q > 0 and F(p, q) == full
    if isinstance(value, str):
        assert value.isascii() and " " not in value and "+" not in value
        assert F(value) == F(p, q)


def test_the_plain_number_reader_on_chosen_forms():
    cases = {"1/64": (1, 64), "2/128": (2, 128), "-3": (-3, 1), "0": (0, 1), 7: (7, 1), "-0/5": (0, 5)}
    for value, expected in cases.items():
        assert checker.plain_rational(value) == expected, value
    for value in ("+1/2", " 1/2", "1/0", "1/-2", "\u0661/2", "1.5", "1/2/3", "", True, 1.5, None, "1" * 2001):
        assert checker.plain_rational(value) is None, value


def rewrite_leaf_numbers(tree, rewrite) -> int:
    """Apply ``rewrite`` to every number of the tree's leaves and node bounds; returns how many."""
    count = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        tables = list(node.get("occupancy", {}).values())
        if "split" in node:
            stack.extend(node["children"].values())
        elif node["close"] == "regret":
            tables.append(node.get("values", {}))
        else:
            tables.extend((node.get("y") or node.get("w")).values())
            if "t" in node:
                node["t"] = rewrite(node["t"])
                count += 1
        for row in tables:
            for key in row:
                row[key] = rewrite(row[key])
                count += 1
    return count


def test_unreduced_and_reformatted_leaf_numbers_check_alike():
    """The leaves' integer reading (``Instance.pair_ints``) takes each table's denominators as written:
    the same certificate with every leaf number unreduced, signed or spaced still verifies, and a
    change of one unit in one unreduced numerator is still caught."""
    mdp = load_model(EXAMPLES / "gridworld4x4.toml").mdp
    D = uniform_distribution(mdp)
    result = critical_epsilon(mdp, D, F(1, 2))
    doc = json.loads(json.dumps(threshold_certificate(mdp, D, F(1, 2), result)))
    kinds = {"regret-dual", "dual", "regret"}
    assert result.stats.regret_dual_closures and result.node_occupancy   # every kind of leaf is here
    rng = random.Random(4)

    def reformat(text):
        value = F(text)
        k = rng.choice([2, 3, 7, 10 ** 12])
        return rng.choice([f"{value.numerator * k}/{value.denominator * k}", f" {text} ",
                           f"+{text}" if value >= 0 else text, str(value.numerator * k) + f"/{k}"
                           if value.denominator == 1 else text])

    changed = copy.deepcopy(doc)
    assert rewrite_leaf_numbers(changed["evidence"]["tree"], reformat) > 10_000
    assert checker.check_document(changed)[0] == "verified"
    # One unit more in one unreduced numerator of a dual leaf breaks its exact flow rows.
    stack, duals = [changed["evidence"]["tree"]], []
    while stack:
        node = stack.pop()
        if "split" in node:
            stack.extend(node["children"].values())
        elif node["close"] in kinds - {"regret"}:
            duals.append(node)
    for node in rng.sample(duals, 5):
        table = node.get("y") or node["w"]
        row = table[rng.choice(sorted(table))]
        key = rng.choice(sorted(row))
        saved = row[key]
        value = F(saved)
        row[key] = f"{3 * value.numerator + 1}/{3 * value.denominator}"
        status, _, facts = checker.check_document(copy.deepcopy(changed))
        assert status == "rejected" and facts["rule"].startswith(("dual-", "regret-dual-")), (key, facts)
        row[key] = saved


# -- malformed files ---------------------------------------------------------------------

def run_check(tmp_path, text, capsys):
    path = tmp_path / "cert.json"
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    code = main(["check", str(path)])
    return code, capsys.readouterr().out.strip()


def test_check_command_exit_statuses(tmp_path, capsys):
    good = figure4_threshold(tmp_path).read_text()
    assert run_check(tmp_path, good, capsys) == (0, "VERIFIED: figure-4: eps*(D) = 1/3 (≈ 0.333) exactly at "
                                                    "L = 4/5 (1 state x 3 actions)")
    path = tmp_path / "cert.json"
    path.write_text(good[: len(good) // 2])
    assert main(["check", str(path)]) == 2                # unreadable: an input error, on stderr (issue 29)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"rewardcert: error: {path}: cannot read the certificate")
    assert run_check(tmp_path, b"\xff\xfe", capsys)[0] == 2
    duplicated = good.replace('"verdict": "threshold"', '"verdict": "threshold", "verdict": "threshold"')
    assert run_check(tmp_path, duplicated, capsys)[0] == 2
    code, out = run_check(tmp_path, good.replace('"regret_bound": "4/5"', '"regret_bound": 0.8'), capsys)
    assert code == 1 and out.startswith("REJECTED: regret-bound")
    assert main(["check", str(tmp_path / "missing.json")]) == 2


@pytest.mark.parametrize("document, rule", [
    ([], "format"),
    ({"format": "rewardcert/certificate-2"}, "format"),
    ({"format": "rewardcert/certificate-1", "verdict": "maybe"}, "verdict"),
    ({"format": "rewardcert/certificate-1", "verdict": "safe", "instance": "x"}, "model"),
])
def test_wrongly_typed_documents_are_rejected(document, rule):
    status, message, facts = checker.check_document(document)
    assert status == "rejected" and facts["rule"] == rule, message


def test_a_tree_that_misses_policies_or_splits_twice_is_rejected():
    mdp = load_model(EXAMPLES / "chain3.toml").mdp
    D = uniform_distribution(mdp)
    doc = threshold_certificate(mdp, D, F(1, 2), critical_epsilon(mdp, D, F(1, 2)))
    tree = doc["evidence"]["tree"]
    assert "split" in tree
    dropped = copy.deepcopy(doc)
    first = next(iter(dropped["evidence"]["tree"]["children"]))
    del dropped["evidence"]["tree"]["children"][first]
    assert checker.check_document(dropped)[2]["rule"] == "tree-split"
    doubled = copy.deepcopy(doc)
    state = tree["split"]
    doubled["evidence"]["tree"] = {"split": state, "children": {a: copy.deepcopy(tree) for a in mdp.actions}}
    assert checker.check_document(doubled)[2]["rule"] == "tree-split"
