"""deploy/Dockerfile, checked statically against the code (no Docker engine is needed).

Its build stage must build the wheel with maturin from exactly what maturin reads; its runtime
stage must run the demo as a non-root user on the port it exposes, with a health check that
really works against vumeter's server.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.support.binaries import free_port
from vumeter.server import ENDPOINTS, serve

from . import dockerfile
from .conftest import DOCKERFILE, DOCKERIGNORE, REPO, parse_vumeter_args, pyproject

GLOBAL_ARGS, STAGES = dockerfile.stages(DOCKERFILE)
BUILD, RUNTIME = STAGES[0], STAGES[-1]


def runtime_user() -> tuple[int, int]:
    user, _, group = RUNTIME.last("USER").arguments.partition(":")
    return int(user), int(group or user)


def exposed_port() -> int:
    (port,) = RUNTIME.last("EXPOSE").arguments.split()
    return int(port.removesuffix("/tcp"))


def test_two_stages_on_the_python_the_project_requires() -> None:
    assert (len(STAGES), BUILD.name, RUNTIME.name) == (2, "build", "runtime")
    bases = {dockerfile.expand(stage.base, GLOBAL_ARGS) for stage in STAGES}
    # The same image in both stages: the wheel's ABI and glibc match where it is installed.
    assert bases == {f"python:{GLOBAL_ARGS['PYTHON_VERSION']}-slim-bookworm"}
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert Version(GLOBAL_ARGS["PYTHON_VERSION"]) in requires


def test_build_stage_builds_the_wheel_with_pinned_tools() -> None:
    runs = " ".join(i.arguments for i in BUILD.all("RUN"))
    assert "maturin build --release --locked --out /dist" in runs
    build_args = dockerfile.stage_args(BUILD)
    maturin_requirement = next(
        r for r in pyproject()["build-system"]["requires"] if r.startswith("maturin")
    )
    assert Version(build_args["MATURIN_VERSION"]) in SpecifierSet(maturin_requirement[7:])
    cargo = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    rust_version = re.search(r'rust-version\s*=\s*"([\d.]+)"', cargo)
    assert rust_version is not None
    assert Version(build_args["RUST_VERSION"]) >= Version(rust_version.group(1))


def test_build_stage_copies_everything_maturin_reads() -> None:
    copied: set[str] = set()
    for instruction in BUILD.all("COPY"):
        *sources, _ = shlex.split(instruction.arguments)
        copied.update(s for s in sources if not s.startswith("--"))
    project = pyproject()
    maturin = project["tool"]["maturin"]
    needed = {
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        project["project"]["readme"],
        maturin["python-source"],
        maturin["manifest-path"].split("/")[0],  # src-rust: every workspace member
    }
    assert needed <= copied
    for path in copied:
        assert (REPO / path).exists(), f"COPY {path}: no such path in the repository"


def test_dockerignore_admits_the_sources_and_keeps_native_builds_out() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "an allow-list: everything is excluded unless re-included"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for instruction in BUILD.all("COPY"):
        *sources, _ = shlex.split(instruction.arguments)
        copied.update(sources)
    assert copied <= admitted
    # A locally built extension in python/vumeter must not end up inside the image's wheel.
    assert "**/*.so" in lines
    assert lines.index("**/*.so") > lines.index("!python/")


def test_runtime_runs_the_console_script_as_a_non_root_user() -> None:
    uid, gid = runtime_user()
    assert uid >= 1000
    assert gid >= 1000
    useradd = " ".join(i.arguments for i in RUNTIME.all("RUN") if "useradd" in i.arguments)
    assert f"--uid {uid}" in useradd
    assert RUNTIME.last("ENTRYPOINT").exec_form() == ["vumeter"]
    assert pyproject()["project"]["scripts"]["vumeter"] == "vumeter.cli:main"
    install = " ".join(i.arguments for i in RUNTIME.all("RUN") if "pip install" in i.arguments)
    extras = re.search(r"\.whl\)\[([\w,]+)\]", install)
    assert extras is not None
    assert set(extras.group(1).split(",")) <= set(pyproject()["project"]["optional-dependencies"])


def test_command_is_a_valid_demo_invocation_on_the_exposed_port() -> None:
    args = parse_vumeter_args(RUNTIME.last("CMD").exec_form())
    assert args.command == "demo"
    assert args.host == "0.0.0.0", "the demo's default 127.0.0.1 is unreachable from outside"
    assert args.port == exposed_port() == 8080
    assert args.duration == 0, "a container runs until it is stopped"
    assert RUNTIME.last("STOPSIGNAL").arguments == "SIGTERM"


def healthcheck_command() -> list[str]:
    arguments = RUNTIME.last("HEALTHCHECK").arguments
    options, _, command = arguments.partition("CMD ")
    assert "--timeout=" in options
    return dockerfile.Instruction("CMD", command).exec_form()


def test_healthcheck_probes_liveness_on_the_exposed_port() -> None:
    command = " ".join(healthcheck_command())
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", command)
    assert url is not None
    assert int(url.group(1)) == exposed_port()
    assert url.group(2) == "/livez"
    assert url.group(2) in ENDPOINTS


@pytest.mark.parametrize("server_up", [True, False])
def test_healthcheck_command_passes_only_while_the_server_answers(server_up: bool) -> None:
    # Runs the HEALTHCHECK's own command, pointed at a real server on a free port.
    port = free_port()
    command = [word.replace(":8080/", f":{port}/") for word in healthcheck_command()]
    command[0] = sys.executable
    handle = serve(host="127.0.0.1", port=port, grace_period=0) if server_up else None
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    finally:
        if handle is not None:
            handle.stop()
    assert (result.returncode == 0) is server_up, result.stderr
