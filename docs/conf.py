"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html`` (``make docs``)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

# Reading the mixins' declared_attr columns outside a mapped class is what autodoc does.
warnings.filterwarnings("ignore", message="Unmanaged access of declarative attribute")

project = "flask-loyalty-rewards"
author = "flask-loyalty-rewards contributors"
copyright = "2026, flask-loyalty-rewards contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "loyalty_docs",
]
exclude_patterns = ["_build", "examples/**/__pycache__"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {
    "description": "Reward redemption for Flask shops",
    "fixed_sidebar": True,
    "page_width": "1180px",
}

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "undoc-members": False}
# Offline builds: no inventories are fetched; references to other projects stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
suppress_warnings = ["config.cache"]
