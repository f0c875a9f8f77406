"""Evaluation plots of the holdout, logged as MLflow artifacts (drawn from real predictions, never dummies)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def evaluation_figures(y_true: pd.Series, probability: np.ndarray, threshold: float) -> dict[str, Any]:
    """ROC, precision-recall, calibration and the confusion matrix at the decision threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    figures: dict[str, Any] = {}
    for name, draw in {
        "roc_curve.png": lambda ax: RocCurveDisplay.from_predictions(y_true, probability, ax=ax, name="model"),
        "precision_recall.png": lambda ax: PrecisionRecallDisplay.from_predictions(
            y_true, probability, ax=ax, name="model"
        ),
        "calibration.png": lambda ax: CalibrationDisplay.from_predictions(
            y_true, probability, n_bins=10, ax=ax, name="model"
        ),
        "confusion_matrix.png": lambda ax: ConfusionMatrixDisplay.from_predictions(
            y_true, (probability >= threshold).astype(int), ax=ax, display_labels=["stays", "churns"], colorbar=False
        ),
    }.items():
        figure, axis = plt.subplots(figsize=(5, 4), dpi=100)
        draw(axis)
        if name == "confusion_matrix.png":
            axis.set_title(f"threshold {threshold:g}")
        figure.tight_layout()
        figures[name] = figure
    return figures


def close(figures: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    for figure in figures.values():
        plt.close(figure)
