"""Fixtures: a tiny synthetic GTSRB tree, its archive, an isolated cache, the real data folder,
and a tiny trained build. Helpers the tests import live in tests/support (`import support`)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from support import REPO
from support.data import make_fake_gtsrb


@pytest.fixture(scope="session")
def fake_gtsrb(tmp_path_factory) -> Path:
    return make_fake_gtsrb(tmp_path_factory.mktemp("fake-data"))


@pytest.fixture(scope="session")
def fake_archive(fake_gtsrb, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "gtsrb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(fake_gtsrb / "gtsrb", arcname="gtsrb")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's cache."""
    os.environ["EDGEXAI_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("EDGEXAI_DATA", None)  # each test names its data explicitly
    yield


def pytest_collection_modifyitems(items) -> None:
    """`realdata` marks every test that reads the real archive (through `real_data_root`), so
    `-m "not realdata"` selects the ones that run without it."""
    for item in items:
        if "real_data_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """The real GTSRB archive's folder, from EDGEXAI_TEST_DATA or ../shared/data; skip if absent."""
    candidates = [os.environ.get("EDGEXAI_TEST_DATA"), str(REPO.parent / "shared" / "data")]
    for c in candidates:
        if c and (Path(c) / "gtsrb.tar.gz").is_file():
            return Path(c)
    pytest.skip("real GTSRB archive not found (set EDGEXAI_TEST_DATA)")


@pytest.fixture(scope="session")
def tiny_build(fake_gtsrb, tmp_path_factory) -> Path:
    """A natural resnet20 build folder trained 2 epochs on the fake data (shared, read-only), with
    the quick preset: ResNet-20's own 32 px, which the runtime and export tests' arrays assume."""
    from edgexai.train.builder import BuildOptions, run_build

    out = tmp_path_factory.mktemp("tiny-build")
    return run_build(
        BuildOptions(
            data_root=str(fake_gtsrb),
            out=str(out),
            epochs=2,
            limit_per_class=4,
            device="cpu",
            progress=False,
            preset="quick",
        )
    )
