"""The dependency locks (requirements/*.txt, written by `make lock`): every runtime dependency pinned to one
version with the hashes of its files, the image installing only the worker's lock (no dashboards extra, whose
dependencies replace urllib3 at every interpreter start), and `make install` (CI) installing the dev lock with
--require-hashes. Static checks: no Docker engine runs here; `make install` itself exercises the dev lock."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
DOCKERFILE = (REPO / "Dockerfile").read_text()
MAKEFILE = (REPO / "Makefile").read_text()
# The dashboards extra and what it pulls in: a tool's dependencies, not the service's.
PUBLISHING = {"grafana-client", "niquests", "urllib3-future", "jh2", "qh3", "wassima"}


def lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """package -> (version, hashes) of a lock file; every requirement must be `==` with at least one hash."""
    text = (REPO / "requirements" / name).read_text()
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z])", text.split("\n", 2)[2]):
        head = entry.split("\\", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        requirement = Requirement(head)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{name}: {head} is not pinned to one version"
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
        assert hashes, f"{name}: {requirement.name} has no hash"
        pins[canonicalize_name(requirement.name)] = (specifier.version, hashes)
    return pins


def test_every_runtime_dependency_is_pinned_with_hashes_and_satisfies_pyproject():
    worker = lock("worker.txt")
    for line in PYPROJECT["dependencies"]:
        wanted = Requirement(line)
        version, _hashes = worker[canonicalize_name(wanted.name)]
        assert wanted.specifier.contains(version, prereleases=True), f"{wanted} but the lock has {version}"
    assert not PUBLISHING & set(worker), "the worker's lock carries the dashboards extra"


def test_faust_is_one_version_and_kafka_python_stays_below_its_next_major():
    requirements = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PYPROJECT["dependencies"]}
    (faust,) = requirements["faust-streaming"].specifier
    assert faust.operator == "==" and lock("worker.txt")["faust-streaming"][0] == faust.version
    kafka = requirements["kafka-python"].specifier
    version = lock("worker.txt")["kafka-python"][0]
    major = int(version.split(".")[0])
    assert kafka.contains(version) and not kafka.contains(f"{major + 1}.0.0")


def test_the_dev_lock_is_the_worker_lock_plus_the_test_tools():
    worker, dev = lock("worker.txt"), lock("dev.txt")
    assert {name: dev.get(name) for name in worker} == worker  # same versions, same files
    for line in PYPROJECT["optional-dependencies"]["dev"]:
        wanted = Requirement(line)
        assert wanted.specifier.contains(dev[canonicalize_name(wanted.name)][0], prereleases=True), wanted


def test_the_image_installs_the_worker_lock_with_hashes_and_no_extra():
    installs = [line for line in DOCKERFILE.splitlines() if "pip install" in line]
    assert installs == [
        "RUN pip install --require-hashes -r requirements/worker.txt -r requirements/build.txt",
        "RUN pip install --no-deps --no-build-isolation . && pip uninstall -y -q setuptools && pip check"]
    assert "[dashboards]" not in DOCKERFILE and ".[" not in DOCKERFILE
    assert "COPY requirements/worker.txt requirements/build.txt requirements/" in DOCKERFILE
    assert set(lock("build.txt")) == {"setuptools"}


def test_make_install_uses_the_dev_lock_with_hashes_then_capmon_without_dependencies():
    recipe = MAKEFILE.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "requirements/dev.txt" in recipe.splitlines()[0]  # a new lock re-installs
    assert "$(BIN)/pip install -q --require-hashes -r requirements/dev.txt" in recipe
    assert "$(BIN)/pip install -q --no-deps -e ." in recipe
    assert "--upgrade" not in recipe  # nothing unhashed
