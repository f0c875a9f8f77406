"""GX's data docs views, with the templates they compile kept for the process.

GX builds a new Jinja environment for every page it renders, and Jinja compiles each template again for every
new environment: 42 compilations per data docs build (27 with the pages sharing them), ~0.6 s of a 3.05 s gate
here (`python -m benchmarks.bench_gates`: 2.43 s; the HTML is the same but for its timestamps and ids). These
views are GX's own, named in the site's config (its documented extension point, `view: {module_name,
class_name}`), with one thing added: a bytecode cache shared by every environment of the process. Jinja keys it
by template file and checks the source's hash, so an edited or custom template is compiled again. It lives in
memory only: nothing is written outside the data layers (the image's filesystem is read-only elsewhere).
`gx.run_gate` imports it with GX, when a gate runs.
"""

from __future__ import annotations

import threading
from typing import Any

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView


class ProcessBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates by Jinja's bucket key, for the life of the process (flows run gates in threads)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # Jinja drops it if the source's checksum differs

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code

    def clear(self) -> None:
        with self._lock:
            self._code.clear()


COMPILED = ProcessBytecodeCache()


class CachedPageView(DefaultJinjaPageView):
    """A validation result's page (GX's default), compiling its templates once per process."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        # Named, not *args: GX passes a site's custom folders only to parameters its __init__ names.
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """The docs' index page (GX's default), compiling its templates once per process."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED


def site_views() -> dict[str, Any]:
    """The parts of a SiteBuilder config that name these views (merged by GX with its defaults)."""
    view = {"module_name": __name__}
    return {
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {**view, "class_name": "CachedIndexPageView"},
        },
        "site_section_builders": {
            section: {"view": {**view, "class_name": "CachedPageView"}} for section in ("expectations", "validations")
        },
    }
