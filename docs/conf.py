"""Sphinx configuration of jaxrnn's documentation.

Build (the docs extra; CI runs this with warnings as errors)::

  pip install ".[docs]"
  sphinx-build -W --keep-going -b html docs docs/_build/html

Every page written as a MyST notebook (``file_format: mystnb``) is executed on each build
(``nb_execution_mode = 'force'``), so an example that stops working fails the build. No
network is needed to build.
"""

import jaxrnn

project = 'jaxrnn'
author = 'the jaxrnn authors'
copyright = '2026, the jaxrnn authors'
version = release = jaxrnn.__version__  # the one version, shared with the package

extensions = [
    'myst_nb',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
]

exclude_patterns = ['_build', 'README.md', '**.ipynb_checkpoints', 'jupyter_execute', 'screenshots']

# Autodoc: signatures as written, members in source order, type hints in the description.
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_typehints_format = 'short'
autodoc_class_signature = 'separated'
autodoc_default_options = {'exclude-members': '__init__, __new__'}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# MyST and MyST-NB: every notebook page runs at build time; an error fails the build.
myst_enable_extensions = ['colon_fence', 'dollarmath', 'deflist']
myst_heading_anchors = 3
nb_execution_mode = 'force'
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_merge_streams = True

html_theme = 'sphinx_book_theme'
html_title = f'jaxrnn {release}'
html_static_path: list[str] = []
html_theme_options = {
    'show_toc_level': 2,
    'navigation_with_keys': False,
}
html_last_updated_fmt = None
