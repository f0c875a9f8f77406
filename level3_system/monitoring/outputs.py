"""Where a monitor run's result goes: `latest.json` (a contract), a timestamped copy, the HTML report, history.

`<reports>/monitoring/latest.json` keeps the keys the next issues and the tests rely on: model_version, window
(start, end, n_rows, n_labeled), dataset_drift (null without a verdict), drift_share, drifted_features, features
(name -> method, score, drifted), prediction_drift, performance (null, or roc_auc, pr_auc, brier, n), value (null,
or value_per_1000, offer_all_per_1000, offers_per_1000, threshold, n, holdout_value_per_1000, holdout_interval_95),
alert, reasons. Each run also writes `<UTC time>.json` (the last `reports_kept` are kept: the hysteresis reads
them) and replaces `latest.html`, Evidently's self-contained report (its JavaScript inline: it renders offline)
headed by the verdict and the realized value, which Evidently does not know about.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

LATEST = "latest.json"
REPORT_HTML = "latest.html"


def folder(reports: Path) -> Path:
    return reports / "monitoring"


def _write_atomic(path: Path, text: str) -> None:
    """Beside the target, then renamed: a reader (the service's /metrics) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    Path(name).replace(path)


def write_result(reports: Path, result: dict[str, Any], stamp: str, keep: int) -> Path:
    """latest.json and its timestamped copy; older copies beyond `keep` removed."""
    target = folder(reports)
    text = json.dumps(result, indent=2, sort_keys=True, default=str) + "\n"
    _write_atomic(target / f"{stamp}.json", text)
    _write_atomic(target / LATEST, text)
    for old in history_files(reports)[keep:]:
        old.unlink(missing_ok=True)
    return target / LATEST


def verdict_html(result: dict[str, Any]) -> str:
    """The verdict and the money, as a static block above Evidently's report."""
    value = result.get("value")
    rows = ""
    if value is not None:
        interval = value.get("holdout_interval_95") or [0.0, 0.0]
        figures = {
            "offer threshold": f"{value['threshold']:.2f}",
            "offers per 1,000 labelled customers": f"{value['offers_per_1000']:,.0f}",
            "realized net value per 1,000": f"{value['value_per_1000']:,.0f}",
            "offering to everyone would have earned": f"{value['offer_all_per_1000']:,.0f}",
            "the holdout's estimate [95 % interval]": (
                f"{value['holdout_value_per_1000']:,.0f} [{interval[0]:,.0f}, {interval[1]:,.0f}]"
                if value.get("holdout_value_per_1000") is not None
                else "–"
            ),
        }
        rows = "".join(
            f'<tr><th style="text-align:left;padding-right:16px">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
            for k, v in figures.items()
        )
        rows = f'<table style="border-collapse:collapse;margin:8px 0">{rows}</table>'
    reasons = "".join(f"<li>{html.escape(str(r))}</li>" for r in result.get("reasons", []))
    verdict = "ALERT" if result.get("alert") else "no alert"
    colour = "#b00020" if result.get("alert") else "#1b5e20"
    return (
        f'<section id="churn-verdict" style="font-family:sans-serif;padding:12px 20px;border-bottom:1px solid #ccc">'
        f'<h2 style="margin:0 0 6px">{html.escape(str(result.get("model_name")))} '
        f'v{html.escape(str(result.get("model_version")))}: <span style="color:{colour}">{verdict}</span></h2>'
        f"{rows}<ul>{reasons}</ul></section>"
    )


def write_html(reports: Path, snapshot: Any, result: dict[str, Any] | None = None) -> Path:
    """Evidently's report (`save_html` takes a str: given a Path it silently writes nothing), headed by the
    verdict when `result` is given."""
    target = folder(reports) / REPORT_HTML
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    snapshot.save_html(str(staging))
    if result is not None:
        page = staging.read_text(encoding="utf-8")
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + verdict_html(result), page, count=1)
        staging.write_text(page, encoding="utf-8")
    staging.replace(target)
    return target


def history_files(reports: Path) -> list[Path]:
    """The timestamped results, newest first (names are UTC times, so they sort)."""
    return sorted((p for p in folder(reports).glob("*.json") if p.name != LATEST), reverse=True)


def previous_results(reports: Path, model_name: str, version: str) -> list[dict[str, Any]]:
    """Earlier results of the same version with a verdict, newest first (what the hysteresis counts)."""
    found = []
    for path in history_files(reports):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        same = result.get("model_name") == model_name and result.get("model_version") == version
        if same and result.get("dataset_drift") is not None:
            found.append(result)
    return found


def read_latest(reports: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder(reports) / LATEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
