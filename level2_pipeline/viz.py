"""`make viz`: a static kedro-viz site of the level-2 pipelines in data/08_reporting/level2/viz, built offline.

Why not `kedro viz build`: it writes into `./build` of whatever directory it runs in, reports a failure as a
coloured line and still exits 0, and its analytics step runs even with telemetry off (it creates a user id under
~/.config/kedro, and injects a Heap analytics script unless the project's consent is an explicit `false`). Here the
site goes straight to its folder, a failure exits non-zero, and no analytics code runs: the page is the one
kedro-viz ships, the templates a static site never uses (the Heap loader, the dev server's autoreload poller) are
left out, and every HTML file is checked for analytics scripts before the build replaces the previous one.

What still points outside is logged: the Google Fonts stylesheet (the Inter font). Offline the browser falls back
to a system font; scripts, styles and the pipeline data are all local. Nothing is run: the site shows the
pipelines' structure from `conf/` and the code, so it needs no data.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from level2_pipeline.errors import UserFacingError, explain
from level2_pipeline.project import PROJECT_ROOT, apply_quiet_environment, shown

logger = logging.getLogger("level2_pipeline.viz")  # not __name__: run with -m, that is "__main__"

DEFAULT_OUTPUT = PROJECT_ROOT / "data" / "08_reporting" / "level2" / "viz"
# Shipped in kedro-viz's html/ folder, used only by its live server: telemetry.html is the Heap loader template,
# autoreload.html polls the server's /api/reload.
UNUSED_TEMPLATES = ("telemetry.html", "autoreload.html")
ANALYTICS = re.compile(r"heapanalytics|heap\.load|googletagmanager|google-analytics|segment\.(com|io)", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
EXTERNAL = re.compile(r"""\b(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", re.IGNORECASE)


class VizBuildError(UserFacingError):
    """kedro-viz is missing or did not produce a usable site."""


def strip_analytics(html: str) -> str:
    """The page without analytics scripts: a second line of defence if a kedro-viz release bakes one in."""
    return SCRIPT.sub(lambda match: "" if ANALYTICS.search(match.group(0)) else match.group(0), html)


def external_references(site: Path) -> list[str]:
    """URLs outside the site that its HTML files load (src/href): what an offline browser will fail to fetch."""
    found = {url for page in site.rglob("*.html") for url in EXTERNAL.findall(page.read_text(encoding="utf-8"))}
    return sorted(found)


def _finish(site: Path) -> None:
    """Drop the live-server templates, strip analytics, and check the site is complete."""
    for name in UNUSED_TEMPLATES:
        (site / name).unlink(missing_ok=True)
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if (clean := strip_analytics(text)) != text:
            logger.warning("viz: removed an analytics script from %s", page.relative_to(site))
            page.write_text(clean, encoding="utf-8")
    missing = [name for name in ("index.html", "api/main") if not (site / name).is_file()]
    if missing:
        raise VizBuildError(f"kedro-viz produced no {', '.join(missing)} in {site}")


def build(output: Path = DEFAULT_OUTPUT, *, env: str | None = None) -> list[str]:
    """Build the site into `output`, replacing the previous build; returns the external references left in it."""
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")  # kedro-viz vs FastAPI, not ours
    try:
        import fsspec
        from kedro_viz.integrations.deployment.base_deployer import BaseDeployer
        from kedro_viz.server import load_and_populate_data
    except ImportError as exc:
        raise VizBuildError(f"kedro-viz cannot be imported ({exc}): run `make env`") from exc

    class OfflineDeployer(BaseDeployer):
        """kedro-viz's local build (API responses, static files, metadata) into a folder of our choosing."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self._path = path
            self._fs = fsspec.filesystem("file")

        def _ingest_heap_analytics(self) -> None:
            """kedro-viz's step that reads (and creates) the telemetry identity and injects Heap: skipped."""

    # kedro-viz warns that no run events exist: runs here keep its hooks disabled (settings.py), so they never do.
    logging.getLogger("kedro_viz").setLevel(logging.ERROR)
    load_and_populate_data(PROJECT_ROOT, env=env)  # bootstraps the project and reads conf/; runs nothing
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would survive the rename
    try:
        OfflineDeployer(staging).deploy()
        _finish(staging)
        shutil.rmtree(output, ignore_errors=True)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return external_references(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m level2_pipeline.viz", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="site folder (replaced)")
    parser.add_argument("--env", default=None, help="Kedro configuration environment (default: local)")
    args = parser.parse_args(argv)
    apply_quiet_environment()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        external = build(args.output, env=args.env)
    except Exception as exc:
        message = explain(exc)
        if message is None:
            logger.exception("viz: kedro-viz could not build the site")
        else:
            logger.error("viz: kedro-viz could not build the site: %s", message)
        return 1
    site = shown(args.output.resolve())
    logger.info("viz: static site in %s/index.html (serve it: python -m http.server -d %s)", site, site)
    if external:
        logger.info("viz: external references left (the browser's, not this build's): %s", ", ".join(external))
    return 0


if __name__ == "__main__":
    sys.exit(main())
