"""``rewardcert goodhart``: its JSON keys, exit statuses, certificates, instance files and plot."""

from __future__ import annotations

import json
import re
from fractions import Fraction as F

import pytest

from rewardcert.cli import main
from rewardcert.proofs import checker
from tests.conftest import EXAMPLES, ROOT

RATIONAL = re.compile(r"-?\d+(/\d+)?")


def run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:        # argparse's own errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def is_interval(value) -> bool:
    return set(value) == {"lower", "upper"} and all(RATIONAL.fullmatch(value[k]) for k in value) and \
        F(value["lower"]) <= F(value["upper"])


@pytest.fixture(scope="module")
def instance_files(tmp_path_factory):
    """Members of power:2 written by --write-instances (module scope: written once)."""
    folder = tmp_path_factory.mktemp("instances")
    assert main(["goodhart", "--family", "power:2", "--sizes", "2,4", "--beta", "1", "--write-instances",
                 str(folder)]) == 0
    return folder


def member_argv(folder, size: int) -> list[str]:
    stem = folder / f"power-2-N{size}"
    return [f"{stem}.json", "--estimate", f"{stem}-estimate.json", "--reference", f"{stem}-reference.json"]


def test_single_instance_json_has_exactly_the_issue_keys(instance_files, capsys):
    code, out, _ = run(["goodhart", *member_argv(instance_files, 4), "--beta", "1", "--kl-budget", "1/10",
                        "--construct", "2,1", "--condition", "3", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert list(doc)[0] == "schema" and doc["schema"] == "rewardcert/goodhart-1"    # the house's envelope
    assert set(doc) == {"schema", "soft_optimum", "kl_budget", "construction", "condition"}
    assert set(doc["soft_optimum"]) == {"true_gain", "proxy_gain", "kl"}
    assert all(is_interval(v) for v in doc["soft_optimum"].values())
    assert set(doc["kl_budget"]) == {"budget", "best_proxy_gain", "best_true_gain", "donsker_varadhan"}
    assert doc["kl_budget"]["budget"] == "1/10" and RATIONAL.fullmatch(doc["kl_budget"]["donsker_varadhan"])
    assert is_interval(doc["kl_budget"]["best_proxy_gain"]) and is_interval(doc["kl_budget"]["best_true_gain"])
    assert F(doc["kl_budget"]["best_true_gain"]["upper"]) <= F(doc["kl_budget"]["donsker_varadhan"])
    assert set(doc["construction"]) == {"proxy_gain", "true_gain", "kl"} and is_interval(doc["construction"]["kl"])
    assert all(RATIONAL.fullmatch(doc["construction"][k]) for k in ("proxy_gain", "true_gain"))
    assert doc["condition"] == {"threshold": "3", "true_mean": "1/2"}      # only tail outputs have U >= 3
    gain = doc["soft_optimum"]["true_gain"]
    assert F(gain["lower"]) - F(5, 10 ** 12) <= F("0.13321667529") <= F(gain["upper"]) + F(5, 10 ** 12)


def test_a_member_file_gives_its_family_row(instance_files, capsys):
    code, out, _ = run(["goodhart", "--family", "power:2", "--sizes", "2,4", "--beta", "1", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"schema", "family", "rows"}
    assert doc["family"] == "power:2" and [r["size"] for r in doc["rows"]] == [2, 4]
    assert all(set(r) == {"size", "true_gain", "proxy_gain", "kl"} for r in doc["rows"])
    code, single, _ = run(["goodhart", *member_argv(instance_files, 2), "--beta", "1", "--json"], capsys)
    assert code == 0
    assert json.loads(single)["soft_optimum"] == {k: doc["rows"][0][k] for k in ("true_gain", "proxy_gain", "kl")}


def test_the_json_follows_its_published_schema(instance_files, capsys):
    """docs/json-schema/goodhart.json, with jsonschema: both shapes, the null cases, and a shape mixed up."""
    import jsonschema
    schema = json.loads((ROOT / "docs" / "json-schema" / "goodhart.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    code, out, _ = run(["goodhart", *member_argv(instance_files, 2), "--beta", "1", "--kl-budget", "1",
                        "--construct", "9,1", "--condition", "100", "--json"], capsys)
    doc = json.loads(out)
    validator.validate(doc)
    assert code == 0 and doc["construction"] is None and doc["condition"]["true_mean"] is None
    code, out, _ = run(["goodhart", "--family", "subgauss", "--sizes", "3", "--beta", "2", "--json"], capsys)
    family = json.loads(out)
    validator.validate(family)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**family, "soft_optimum": doc["soft_optimum"]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "extra": 1})


def test_the_counterexample_exits_4_with_a_verified_certificate(tmp_path, capsys):
    cert = tmp_path / "c.json"
    code, out, _ = run(["goodhart", "--family", "pareto:2", "--sizes", "2000", "--beta", "1", "--construct", "100,5",
                        "-o", str(cert)], capsys)
    assert code == 4
    assert "COUNTEREXAMPLE (N = 2000) to Thm 3 as printed (two-sided) on construction" in out
    assert checker.check_file(str(cert))[0] == "verified"
    code, out, _ = run(["check", str(cert)], capsys)
    assert code == 0 and "family pareto:2, 1 member regenerated" in out and "1 fails" in out


def test_an_instance_certificate_to_standard_output(instance_files, capsys):
    code, out, err = run(["goodhart", *member_argv(instance_files, 4), "--beta", "1/2", "--kl-budget", "1",
                          "--out", "-"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["verdict"] == "heavy-tails" and "soft optimum" in err
    assert checker.check_document(document)[0] == "verified"


def test_a_timeout_reports_what_it_computed_and_exits_3(capsys):
    code, out, _ = run(["goodhart", "--family", "power:2", "--sizes", "1,2,3", "--beta", "1",
                        "--timeout", "0.000001"], capsys)
    assert code == 3
    assert "--timeout 1e-06 ran out: rows computed for N = none, of 3 asked" in out


def test_the_plot_is_written(tmp_path, capsys):
    picture = tmp_path / "goodhart.png"
    code, out, _ = run(["goodhart", "--family", "power:2", "--sizes", "1,2,4,8,30", "--beta", "1",
                        "--plot", str(picture)], capsys)
    assert code == 0 and "power:2, subgauss" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_family_member_too_large_for_a_model_file_is_refused_before_any_work(tmp_path, capsys):
    code, _, err = run(["goodhart", "--family", "power:2", "--sizes", "9999", "--beta", "1", "--write-instances",
                        str(tmp_path)], capsys)
    assert code == 2 and "10001 outputs" in err and not list(tmp_path.iterdir())


BAD = [
    (["--beta", "1"], "give MODEL"),
    ([str(EXAMPLES / "rlhf-bandit.toml"), "--beta", "1"], "--estimate"),
    (["--family", "power:2", "--beta", "1"], "--sizes"),
    (["--family", "power:2", "--sizes", "0", "--beta", "1"], "between 1"),
    (["--family", "subgauss", "--sizes", "59", "--beta", "1"], "between 1 and 58"),
    (["--family", "lognormal:2", "--sizes", "1", "--beta", "1"], "unknown family"),
    (["--family", "power:2", "--sizes", "1", "--beta", "0"], "beta"),
    (["--family", "power:2", "--sizes", "1", "--beta", "-1"], "beta"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--construct", "1,2"], "0 < C < T"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--construct", "1"], "T,C"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--target", "1,1"], "--construct"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--kl-budget", "0"], "budget"),
    (["--family", "power:2", "--sizes", "1,a", "--beta", "1"], "sizes"),
    (["--family", "power:2", "--sizes", "1,1", "--beta", "1"], "distinct"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--write-instances", "/nonexistent/dir"], "does not exist"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--plot", "picture.unknown"], "image format"),
    (["--family", "power:2", "--sizes", "1", "--beta", "1", "--plot", "-"], "file name"),
    (["--family", "power:2", "--sizes", "1", "--beta", "0.1.2"], "--beta"),
    ([str(EXAMPLES / "chain3.toml"), "--estimate", str(EXAMPLES / "chain3-estimate.toml"), "--beta", "1"], "gamma"),
    ([str(EXAMPLES / "rlhf-bandit.toml"), "--estimate", str(EXAMPLES / "figure4.toml"), "--beta", "1"], "estimate"),
    ([str(EXAMPLES / "rlhf-bandit.toml"), "--family", "power:2", "--sizes", "1", "--beta", "1"], "MODEL"),
    ([str(EXAMPLES / "rlhf-bandit.toml"), "--estimate", str(EXAMPLES / "rlhf-bandit.toml"), "--sizes", "1",
      "--beta", "1"], "--sizes goes with --family"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a)[-50:] for a, _ in BAD])
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    code, _, err = run(["goodhart", *argv], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_reference_without_full_support_is_refused(instance_files, tmp_path, capsys):
    argv = member_argv(instance_files, 2)
    reference = json.loads((instance_files / "power-2-N2-reference.json").read_text())
    row = reference["policy"]["s"]
    row["n0"], row["n1"] = "0", "9/10"                  # still sums to 1, but Q(n0) = 0
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(reference))
    code, _, err = run(["goodhart", *argv[:-1], str(path), "--beta", "1"], capsys)
    assert code == 2 and "positive probability" in err and "Traceback" not in err


def test_the_docs_describe_the_command_without_citing_the_development_notes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `rewardcert goodhart" in readme
    page = (ROOT / "docs" / "heavy-tails.md").read_text(encoding="utf-8")
    for needed in ("0.18224483342", "0.14596798581", "tanh(1/2)/2", "-9.7247", "0.0683",
                   "Erratum (found by the toolkit)"):
        assert needed in page, needed
    mine = [ROOT / "docs" / "heavy-tails.md", ROOT / "symbolic" / "optimisers" / "heavy_tails.py",
            ROOT / "symbolic" / "optimisers" / "goodhart.py", ROOT / "symbolic" / "optimisers" / "tail_families.py",
            ROOT / "rewardcert" / "commands" / "goodhart.py", ROOT / "proofs" / "certcheck" / "heavy_tails.py",
            ROOT / "proofs" / "certcheck" / "heavy_tails_claims.py", ROOT / "benchmarks" / "bench_heavy_tails.py"]
    for path in mine:
        text = path.read_text(encoding="utf-8")
        assert "SPEC" not in text and "../shared" not in text, path


def test_a_stopped_single_instance_reports_its_soft_optimum_and_writes_no_certificate(instance_files, tmp_path,
                                                                                       capsys):
    cert = tmp_path / "c.json"
    code, out, _ = run(["goodhart", *member_argv(instance_files, 4), "--beta", "1", "--kl-budget", "1/10",
                        "--timeout", "0.000001", "-o", str(cert)], capsys)
    assert code == 3
    assert "true gain   E V - E_Q V   0.133216675287" in out and "within KL" not in out
    assert "certificate: none written" in out and not cert.exists()


def test_an_interrupt_stops_the_sweep_where_a_timeout_would(monkeypatch):
    """The first Ctrl-C only asks the sweep to stop: the rows before it are kept, marked incomplete."""
    from rewardcert.symbolic.optimisers.goodhart import GoodhartOptions, analyse_family
    from rewardcert.symbolic.optimisers.tail_families import parse_family
    done = []
    report = analyse_family(parse_family("power:2"), [1, 2, 3], GoodhartOptions(F(1)), stop=lambda: bool(done),
                            progress=lambda i, total: done.append(i))
    assert not report.complete and [n for n, _ in report.rows] == [1]
    # a member stopped half-way is left out: a row is certified whole or not at all
    polls = []
    report = analyse_family(parse_family("power:2"), [1, 2], GoodhartOptions(F(1)),
                            stop=lambda: polls.append(1) or len(polls) > 1)
    assert not report.complete and report.rows == ()
