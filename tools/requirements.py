"""Print the Python requirements of the project from pyproject.toml.

Without arguments: every requirement the Makefile installs into .venv (runtime, every
extra, dev tools) except the ``bench`` extra, which only ``make benchmark`` installs, so
that the dependency list lives in one place. ``--extra NAME`` prints that extra alone.
"""

import sys
import tomllib
from pathlib import Path

ONLY_FOR_BENCHMARKS = "bench"

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
extras = project["optional-dependencies"]
if sys.argv[1:2] == ["--extra"]:
    requirements = list(extras[sys.argv[2]])
else:
    requirements = list(project["dependencies"])
    for name, extra in extras.items():
        if name != ONLY_FOR_BENCHMARKS:
            requirements.extend(r for r in extra if not r.startswith("vumeter"))
print("\n".join(dict.fromkeys(requirements)))
