"""Train a churn model on the Telco data. Run from the repository root: python level1_code/train.py"""

import json
import os
import sys
import time

import joblib
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

start = time.time()

RAW_DATA = "data/01_raw/telco_churn.csv"
MODEL_DIR = "data/06_models/level1"
PREDICTIONS_DIR = "data/07_model_output/level1"
REPORT_DIR = "data/08_reporting/level1"

ID_COLUMN = "customer_id"
TARGET = "churn"
POSITIVE_CLASS = "Yes"
NUMERIC_FEATURES = [
    "female",
    "senior_citizen",
    "partner",
    "dependents",
    "tenure",
    "phone_service",
    "paperless_billing",
    "monthly_charges",
    "total_charges",
]
CATEGORICAL_FEATURES = [
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "contract",
    "payment_method",
]
FILL_MISSING = {"total_charges": 0.0}  # new customers (tenure 0) have no total yet

TEST_SIZE = 0.2
RANDOM_STATE = 42
MODEL_FAMILY = "logistic_regression"  # or "hist_gradient_boosting", "lightgbm"
C = 1.0
MAX_ITER = 1000
TREE_LEARNING_RATE = 0.05
TREE_N_ESTIMATORS = 200
TREE_MAX_LEAF_NODES = 15
TREE_MIN_SAMPLES_LEAF = 40
TREE_RANDOM_STATE = 42
THRESHOLD = 0.5

# %% load_raw
if not os.path.exists(RAW_DATA):
    sys.exit(f"level 1 failed: file not found: {RAW_DATA}: run `make data` first")
df = pd.read_csv(RAW_DATA)
print(f"loaded {len(df)} rows from {RAW_DATA}")

# %% clean
missing = [c for c in [ID_COLUMN] + NUMERIC_FEATURES + CATEGORICAL_FEATURES + [TARGET] if c not in df.columns]
if missing:
    sys.exit(f"level 1 failed: raw data is missing required column(s): {', '.join(missing)}")
df = df.fillna(FILL_MISSING)

# %% build_features
df = df[[ID_COLUMN] + NUMERIC_FEATURES + CATEGORICAL_FEATURES + [TARGET]].copy()
df[TARGET] = (df[TARGET] == POSITIVE_CLASS).astype("int64")

# %% split
X = df.drop(columns=[TARGET])
y = df[TARGET]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y)
print(f"train {len(X_train)} rows, test {len(X_test)} rows")

# %% train
if MODEL_FAMILY == "logistic_regression":
    classifier = LogisticRegression(C=C, max_iter=MAX_ITER)
    encoder = OneHotEncoder(handle_unknown="ignore")  # unknown categories become all-zero columns, not an error
elif MODEL_FAMILY == "hist_gradient_boosting":
    classifier = HistGradientBoostingClassifier(
        learning_rate=TREE_LEARNING_RATE,
        max_iter=TREE_N_ESTIMATORS,
        max_leaf_nodes=TREE_MAX_LEAF_NODES,
        min_samples_leaf=TREE_MIN_SAMPLES_LEAF,
        early_stopping=False,
        random_state=TREE_RANDOM_STATE,
    )
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)  # trees need dense input
elif MODEL_FAMILY == "lightgbm":
    classifier = LGBMClassifier(
        learning_rate=TREE_LEARNING_RATE,
        n_estimators=TREE_N_ESTIMATORS,
        num_leaves=TREE_MAX_LEAF_NODES,
        min_child_samples=TREE_MIN_SAMPLES_LEAF,
        random_state=TREE_RANDOM_STATE,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
else:
    sys.exit(f"level 1 failed: unknown MODEL_FAMILY {MODEL_FAMILY!r}")
model = Pipeline(
    [
        (
            "preprocess",
            ColumnTransformer(
                [("numeric", StandardScaler(), NUMERIC_FEATURES), ("categorical", encoder, CATEGORICAL_FEATURES)],
                remainder="drop",
            ),
        ),
        ("classifier", classifier),
    ]
)
model.fit(X_train, y_train)

# %% evaluate
proba = model.predict_proba(X_test)[:, 1]
pred = (proba >= THRESHOLD).astype(int)
metrics = {
    "roc_auc": float(roc_auc_score(y_test, proba)),
    "pr_auc": float(average_precision_score(y_test, proba)),
    "f1": float(f1_score(y_test, pred, zero_division=0)),
    "precision": float(precision_score(y_test, pred, zero_division=0)),
    "recall": float(recall_score(y_test, pred, zero_division=0)),
    "accuracy": float(accuracy_score(y_test, pred)),
    "brier": float(brier_score_loss(y_test, proba)),
    "log_loss": float(log_loss(y_test, proba)),
    "threshold": THRESHOLD,
    "n_train": len(y_train),
    "n_test": len(y_test),
}
print(f"ROC AUC {metrics['roc_auc']:.4f}  PR AUC {metrics['pr_auc']:.4f}  F1 {metrics['f1']:.4f}")

# %% save
os.makedirs(MODEL_DIR, exist_ok=True)
os.makedirs(PREDICTIONS_DIR, exist_ok=True)
os.makedirs(REPORT_DIR, exist_ok=True)
joblib.dump(model, MODEL_DIR + "/model.joblib")
pd.DataFrame({ID_COLUMN: X_test[ID_COLUMN].values, "y_true": y_test.values, "churn_probability": proba}).to_csv(
    PREDICTIONS_DIR + "/test_predictions.csv", index=False
)
with open(REPORT_DIR + "/metrics.json", "w") as f:
    json.dump(metrics, f, indent=2, sort_keys=True)
print(f"saved model to {MODEL_DIR}, metrics to {REPORT_DIR}/metrics.json ({time.time() - start:.1f} s)")
