"""Sphinx configuration of the course's website (`make site`; sources staged by `tools.site`).

Everything the pages need is bundled: the Furo theme ships its own CSS and scripts, MathJax 3 is
bundled in `site/mathjax/` (copied into `_static/mathjax/`), the search index is
Sphinx's own, and the notebooks are rendered from their stored outputs (never executed). Nothing is
fetched from the network, at build time or when a page is viewed.
"""

project = "UNet, UNet++ and VAE from first principles"
author = "the course's authors"
copyright = "the course's authors; CC BY 4.0 (text), MIT (code)"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = project
html_static_path = ["_static"]
html_show_sourcelink = False
html_copy_source = False
html_favicon = "favicon.svg"  # a local icon: without one, browsers ask for /favicon.ico

# The notebooks as they are stored: their outputs are the `cpu` profile's results.
nb_execution_mode = "off"
nb_merge_streams = True
# myst-nb loads the ipywidgets embed script from a CDN when a notebook holds widget state: never.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax 3.2.2, bundled in site/mathjax/ (see its README) and served from _static: no CDN.
mathjax_path = "mathjax/tex-chtml-full.js"
