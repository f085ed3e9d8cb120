"""The server listens on loopback unless told otherwise; the container files tell it otherwise,
explicitly, because a container's loopback is unreachable from the kubelet and Prometheus."""

from __future__ import annotations

import inspect

from vumeter.server import MetricsServer, serve

from . import dockerfile
from .conftest import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    load_yaml,
    load_yaml_documents,
    parse_vumeter_args,
)


def test_the_library_and_the_demo_default_to_loopback() -> None:
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(MetricsServer).parameters["host"].default == "127.0.0.1"
    assert parse_vumeter_args(["demo"]).host == "127.0.0.1"


def test_every_container_definition_binds_all_interfaces_on_purpose() -> None:
    cmd = dockerfile.instructions(DOCKERFILE)
    image_command = [i for i in cmd if i.keyword == "CMD"][-1].exec_form()
    compose_command = load_yaml(COMPOSE)["services"]["worker"]["command"]
    (deployment,) = [
        doc
        for doc in load_yaml_documents(DEPLOY / "k8s" / "deployment.yaml")
        if doc["kind"] == "Deployment"
    ]
    k8s_args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    for where, argv in (
        ("Dockerfile", image_command),
        ("compose", compose_command),
        ("k8s", k8s_args),
    ):
        assert parse_vumeter_args(argv).host == "0.0.0.0", where
    # ... and each says why, in a comment just above the flag.
    for path in (DOCKERFILE, COMPOSE, DEPLOY / "k8s" / "deployment.yaml"):
        lines = path.read_text().splitlines()
        (flag,) = [
            index
            for index, line in enumerate(lines)
            if "0.0.0.0" in line and not line.lstrip().startswith("#")
        ]
        comments = [line for line in lines[flag - 4 : flag] if line.lstrip().startswith("#")]
        assert any("127.0.0.1" in line or "loopback" in line for line in comments), path.name
