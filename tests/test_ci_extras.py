"""The optional-extras CI step (issue 10): ``.ci/extras`` never fails because an extra
cannot be installed, and ``.ci/run`` calls it only after the main tests passed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT


def test_run_calls_extras_after_the_main_tests_and_returns_its_status():
    text = (ROOT / ".ci" / "run").read_text()
    main_tests = text.index("python -m pytest")
    call = re.search(r"^bash \.ci/extras \|\| extras=\$\?$", text, re.M)
    assert call and call.start() > main_tests
    assert text.rstrip().endswith('exit "$extras"')


@pytest.mark.skipif(sys.platform == "win32", reason="the CI scripts are bash")
def test_extras_that_cannot_install_are_skipped_with_a_reason(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)       # no pip: every install fails at once
    environment = dict(os.environ, VIRTUAL_ENV=str(env_dir),
                       PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", str(ROOT / ".ci" / "extras")], capture_output=True, text=True,
                          env=environment, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ".ci/extras: SKIP gymnasium:" in done.stdout and ".ci/extras: SKIP stormpy:" in done.stdout
    assert ".ci/extras: SKIP cluster:" in done.stdout
    assert "nothing more to test" in done.stdout
