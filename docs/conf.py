"""Sphinx configuration for the pyisp_contrast documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. Generated pages
(API reference, benchmark tables, model cards, CLI help) are written at build time by the local
extension ``docs/_ext/pyisp_docs.py`` so that no number or name is retyped by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Headless, reproducible plotting for the gallery and the figures; set before anything imports
# matplotlib.
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import pyisp_contrast

project = "pyisp_contrast"
author = "the pyisp_contrast authors"
copyright = "the pyisp_contrast authors, BSD-3-Clause"
release = pyisp_contrast.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "pyisp_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery leaves these beside the generated pages; they are downloads, not pages.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.md5",
    "auto_examples/*.json",
    "auto_examples/*.zip",
]
language = "en"

# -- autodoc / autosummary / napoleon -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# a forward() without its own docstring would otherwise show torch.nn.Module.forward's text
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# Attributes sections as :ivar: fields, so NamedTuple and dataclass fields are not described twice
napoleon_use_ivar = True
napoleon_attr_annotations = True
# Docstring examples are run by pytest (--doctest-modules); the doctest builder also works:
# python -m sphinx -b doctest docs docs/_build/doctest
doctest_global_setup = "import torch\nimport pyisp_contrast"

# No intersphinx: these machines are offline, so remote inventories cannot be fetched.

# -- MyST (the model cards next to the bundled weights are Markdown) ------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- sphinx-gallery -------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    # Reset matplotlib between examples and limit each example's time (default 90 CPU seconds,
    # PYISP_DOCS_EXAMPLE_CPU_LIMIT, and 300 wall seconds, PYISP_DOCS_EXAMPLE_TIMEOUT): a slow
    # example fails the build.
    "reset_modules": ("matplotlib", "pyisp_docs.example_time_limit"),
    "reset_modules_order": "both",
    "doc_module": ("pyisp_contrast",),
    "backreferences_dir": "gen_modules/backreferences",
    "exclude_implicit_doc": {r"pyisp_contrast\.core\..*"},
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "show_signature": False,
    "write_computation_times": True,
}

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"pyisp_contrast {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": True,
}
html_show_sourcelink = False
