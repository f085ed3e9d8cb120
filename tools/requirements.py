"""Print every Python requirement of the project (runtime, extras, dev) from pyproject.toml.

The Makefile installs these into .venv, so the dependency list lives in one place.
"""

import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
requirements = list(project["dependencies"])
for extra in project["optional-dependencies"].values():
    requirements.extend(r for r in extra if not r.startswith("vumeter"))
print("\n".join(dict.fromkeys(requirements)))
