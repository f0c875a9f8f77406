"""Data processing: from the raw file to the model input table.

Pure functions of DataFrames and parameters: no I/O (the catalog does it), no framework import, inputs are
never mutated. Level 1's sections `clean` and `build_features` are these functions written inline.
"""

from __future__ import annotations

import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams


def clean(raw: pd.DataFrame, data_contract: DataContract, clean: CleanParams) -> pd.DataFrame:
    """Check the columns are there, then apply the declared fill rules (to every gap, like level 1).

    The only known gap is `total_charges` for customers with tenure 0: they have not been billed, so the
    rule in `parameters_data_processing.yml` fills 0. The rule fills every gap, as level 1 does; that gaps
    occur only at tenure 0 is checked by level 3's raw gate, before this runs. A missing column fails here
    with all names listed, not three steps later with a KeyError on the first one.
    """
    data_contract.require_columns(raw)
    return fill_missing(raw, clean)


def fill_missing(data: pd.DataFrame, clean: CleanParams) -> pd.DataFrame:
    """The fill rules alone, on any rows with the contract's features: what serving and batch scoring apply to the
    customers they score (no target, no id), so that a model sees gaps filled exactly as in training."""
    return data.fillna(clean.fill_missing)


def build_features(clean_data: pd.DataFrame, data_contract: DataContract) -> pd.DataFrame:
    """Keep the id, the contract's features and a 0/1 target: the table a model is trained on.

    Encoding and scaling are not done here: they are fitted on the training split only, inside the model
    pipeline, so that serving gets the same transformation and the test split does not leak into it.
    """
    keep = [c for c in (data_contract.id_column, *data_contract.features) if c is not None]
    table = clean_data[keep].copy()
    table[data_contract.target] = (clean_data[data_contract.target] == data_contract.positive_class).astype("int64")
    return table
