"""The experiment's outputs a person reads: the table, the trade-off chart, and the MLflow runs that keep both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from level3_system.lifecycle import registry
from level3_system.settings import Level3Settings

COLUMNS = ("family", "CV ROC AUC", "holdout ROC AUC", "PR AUC", "fit s", "fast path", "1 row ms", "rows/s", "size KB")


def rows(summary: Any) -> list[tuple[str, ...]]:
    return [
        (
            r.family + (" ←" if r.family == summary.recommended else ""),
            f"{r.cv_roc_auc:.4f} ± {r.cv_roc_auc_sd:.4f}",
            f"{r.holdout['roc_auc']:.4f}",
            f"{r.holdout['pr_auc']:.4f}",
            f"{r.fit_seconds:.2f}",
            r.fast_path,
            f"{r.one_row_ms:.3f}",
            f"{r.batch_rows_s:,.0f}",
            f"{r.served_bytes / 1024:,.0f}",
        )
        for r in summary.results
    ]


def table(summary: Any, settings: Level3Settings) -> str:
    """Markdown: one row per family, the rule, the recommendation and its reason, the fast-path notes."""
    lines = [
        f"| {' | '.join(COLUMNS)} |",
        f"|{'|'.join('---' for _ in COLUMNS)}|",
        *(f"| {' | '.join(row)} |" for row in rows(summary)),
        "",
        f"Rule (`model_selection.within_roc_auc` = {settings.model_selection.within_roc_auc}): the fastest family "
        "(single-row latency through the fast path the service would use) within that margin of the best CV ROC AUC.",
        f"Recommended: **{summary.recommended}** — {summary.why}.",
        f"Split: {summary.rows['train']:,} training rows ({settings.model_selection.cv_folds}-fold CV), "
        f"{summary.rows['holdout']:,} holdout rows (the levels' own).",
        "",
        *(f"- {r.family}: {r.fast_path_note}" for r in summary.results),
    ]
    return "\n".join(lines)


def chart(summary: Any, path: Path) -> None:
    """ROC AUC against single-row latency, one point per family (error bar: CV sd; area: fit time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for i, r in enumerate(sorted(summary.results, key=lambda r: r.one_row_ms)):
        chosen = r.family == summary.recommended
        axes.errorbar(r.one_row_ms, r.cv_roc_auc, yerr=r.cv_roc_auc_sd, fmt="none", ecolor="#888", capsize=4)
        axes.scatter(r.one_row_ms, r.cv_roc_auc, s=80 + 400 * r.fit_seconds, alpha=0.75,
                     color="#d62728" if chosen else "#1f77b4", edgecolor="black", zorder=3)  # fmt: skip
        label = f"{r.family}\nfit {r.fit_seconds:.2f} s · {r.fast_path}" + ("\nrecommended" if chosen else "")
        # neighbours alternate above and below their point, so close families keep readable labels
        above = i % 2 == 0
        offset = (10, 12 if above else -14)
        axes.annotate(label, (r.one_row_ms, r.cv_roc_auc), textcoords="offset points", xytext=offset,
                      va="bottom" if above else "top", fontsize=8)  # fmt: skip
    axes.set_xscale("log")
    axes.set_xlabel("single-row scoring latency, ms (log scale; through the service's fast path)")
    axes.set_ylabel("cross-validated ROC AUC (mean ± sd)")
    axes.set_title("Model families: what each earns and costs (marker area ∝ fit time)")
    axes.grid(True, which="both", alpha=0.3)
    low, high = axes.get_xlim()
    axes.set_xlim(low / 2, high * 6)  # room for the labels
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def experiment_name(settings: Level3Settings) -> str:
    return settings.model_selection.experiment or f"{settings.experiment}-model-selection"


def log_runs(settings: Level3Settings, summary: Any, files: dict[str, Path]) -> str:
    """One parent run, a nested run per family; the table, chart and results on the parent. Inside mlflow_at."""
    import mlflow

    rules = settings.model_selection
    experiment_id = registry.experiment_id(settings, experiment_name(settings))
    with mlflow.start_run(experiment_id=experiment_id, run_name="model-selection") as parent:
        mlflow.log_params({"families": ",".join(rules.families), "cv_folds": rules.cv_folds,
                           "within_roc_auc": rules.within_roc_auc})  # fmt: skip
        mlflow.set_tags({"recommended": summary.recommended, "why": summary.why[:5000]})
        for r in summary.results:
            with mlflow.start_run(experiment_id=experiment_id, run_name=r.family, nested=True):
                mlflow.log_param("family", r.family)
                mlflow.set_tags({"fast_path": r.fast_path, "fast_path_note": r.fast_path_note})
                metrics = {"cv_roc_auc": r.cv_roc_auc, "cv_roc_auc_sd": r.cv_roc_auc_sd, "fit_seconds": r.fit_seconds,
                           "one_row_ms": r.one_row_ms, "batch_rows_s": r.batch_rows_s, "model_bytes": r.model_bytes,
                           "served_bytes": r.served_bytes}  # fmt: skip
                metrics.update({f"holdout_{k}": v for k, v in r.holdout.items()})
                mlflow.log_metrics(metrics)
        for path in files.values():
            mlflow.log_artifact(str(path))
        return str(parent.info.run_id)
