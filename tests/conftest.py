import os
import shutil
from pathlib import Path

import pytest

from tests import minirepos


@pytest.fixture(scope="session")
def real() -> Path:
    """The real fixtures built by shared/tools/real-fixtures.sh; skip without PORTER_REAL."""
    value = os.environ.get("PORTER_REAL")
    if not value:
        pytest.skip("PORTER_REAL not set (real otyshchenko1/xen fixtures)")
    root = Path(value)
    if not (root / "renesas-bsp").is_dir() or not (root / "xen").is_dir():
        pytest.skip(f"PORTER_REAL={value} lacks renesas-bsp/ and xen/")
    return root


@pytest.fixture(scope="session")
def have_cc() -> str:
    cc = shutil.which(os.environ.get("CC", "cc"))
    if not cc:
        pytest.skip("no C compiler")
    return cc


@pytest.fixture(autouse=True)
def source_date_epoch(monkeypatch):
    """Revisions carry the date they are made (the cover letter's Date): pin it, as reproducible
    builds do, so that identical inputs give identical bytes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture
def fake_xen(tmp_path, monkeypatch) -> Path:
    """The self-written Xen tree of tests/fixtures/linux_to_xen/fakexen.py, its index read afresh
    (an empty cache, none kept in memory from another test)."""
    from porter.linux_to_xen import xenindex
    from tests.fixtures.linux_to_xen.fakexen import make_xen
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xenindex._MEMO.clear()
    return make_xen(tmp_path / "xen")


@pytest.fixture
def repos(tmp_path):
    """minirepos' upstream and Xen repositories, fresh for each test."""
    return minirepos.build(tmp_path / "src")
