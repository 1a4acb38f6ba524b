"""``pytest -n auto`` works: pytest-xdist has each worker collect the suite and refuses to run when two
workers collected different test ids or the same ids in another order. Random values (a ``uuid4()``, an
object's address, an order taken from a set) in a parametrised id break that, so the suite is collected twice
here, as two workers would, with different hash seeds, and the ids must be the same, in the same order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _collect(seed: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # no outer -n, -x, worker id
    env["PYTHONHASHSEED"] = seed
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(TESTS)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ids(process: subprocess.Popen[str]) -> list[str]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"collection failed:\n{out[-3000:]}\n{err[-3000:]}"
    return [line for line in out.splitlines() if "::" in line]


@pytest.mark.slow
def test_two_collections_with_different_hash_seeds_give_the_same_test_ids_in_the_same_order() -> None:
    first, second = _collect("1"), _collect("2")  # at once, as xdist's workers do
    ids, again = _ids(first), _ids(second)
    assert len(ids) > 100, ids
    assert len(set(ids)) == len(ids), "two tests have the same id"
    assert ids == again, (
        "\n".join(f"{a}  !=  {b}" for a, b in zip(ids, again, strict=False) if a != b)
        or f"{len(ids)} ids, then {len(again)}"
    )
