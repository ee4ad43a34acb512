"""Third-party browser code, served from the installed Python packages: the dashboard
never asks a CDN for anything, so it works offline and leaks no visits."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.metadata import version
from importlib.resources import files

from flask import send_file

from bvp.ui import dashboard

PLOTLY_VERSION = version("plotly")
PLOTLY_BUNDLE = files("plotly") / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


@dashboard.get("/vendor/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.js as shipped in the plotly package (the URL names the package version, so
    browsers may keep it for a year)."""
    return send_file(PLOTLY_BUNDLE, mimetype="text/javascript", max_age=YEAR, conditional=True)


@lru_cache(maxsize=1)
def plotly_style_markers() -> list[str]:
    """Ids of the ``<style>`` elements plotly.js adds on load unless an element with that
    id is already there (e.g. map styles, content-hashed per release).

    The Content-Security-Policy refuses inline styles, so the chart pages put a ``<link>``
    to an empty stylesheet of ours under each id: plotly.js inserts its own rules into the
    one named ``plotly.js-style-global`` (through CSSOM, which the policy allows) and skips
    the others.
    """
    found = re.findall(r'getElementById\("([0-9a-f]{64})"\)', PLOTLY_BUNDLE.read_text())
    return ["plotly.js-style-global", *sorted(set(found))]


@dashboard.context_processor
def vendor_versions() -> dict:
    return {"plotly_version": PLOTLY_VERSION, "plotly_style_markers": plotly_style_markers}
