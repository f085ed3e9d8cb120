"""Shared paths and readers for the deployment-file checks."""

from __future__ import annotations

import argparse
import contextlib
import io
import tomllib
from pathlib import Path
from typing import Any

import yaml

from vumeter.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def parse_vumeter_args(argv: list[str]) -> argparse.Namespace:
    """Parse a container's arguments with the real ``vumeter`` CLI parser (fails clearly)."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return build_parser().parse_args(argv)
    except SystemExit:
        command = " ".join(argv)
        raise AssertionError(f"`vumeter {command}` is rejected: {errors.getvalue()}") from None
