"""setuptools entry point: everything is in pyproject.toml except the guest step."""

import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent / "build_backend"))
from kobako_build import build_py  # noqa: E402 - needs the path above

setup(
    cmdclass={"build_py": build_py},
    # setuptools' own build tree, apart from the guest's caches in build/guest
    options={"build": {"build_base": "build/py"}},
)
