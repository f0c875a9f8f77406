"""When `make init` refuses: data that no sound contract describes, each refusal one line saying what to change.

A contract inferred from a constant column, a free-text field, a target copy or an ambiguous target would pass
the gates and train a model that means nothing. Refusing is cheaper than reviewing that by hand, so these run
before any inference, and each names the column and the fix (drop it, pass ID= or POSITIVE=, rewrite it).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from level2_pipeline.errors import UserFacingError

# A text column with more distinct values than this is free text or an undeclared id, not a category.
MAX_CATEGORIES = 100
# Below these, neither the gates' bounds nor a 5-fold baseline mean much.
MIN_ROWS = 100
MIN_CLASS_ROWS = 10
# A binary target whose values are these (any case) has an obvious positive class.
OBVIOUS_POSITIVE = {
    frozenset({"no", "yes"}): "yes",
    frozenset({"n", "y"}): "y",
    frozenset({"false", "true"}): "true",
    frozenset({"f", "t"}): "t",
    frozenset({"0", "1"}): "1",
}
# Named like an id: `id`, `rownames`, `index`, `customer_id`, `id_customer`, `customerID`.
_ID_NAME = re.compile(r"^(id|rownames|index|.+[_-]id|id[_-].+)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z](ID|Id)$")
# Column names become API fields and `nullable_when` conditions (`\w+`): letters, digits, underscores.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class InitRefused(UserFacingError):
    """The data cannot be described by a sound contract: the message says why and what to change."""


def looks_like_id(name: str) -> bool:
    return bool(_ID_NAME.match(name) or _CAMEL_ID.search(name))


def _listed(values: list[object], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def check_frame(frame: pd.DataFrame, target: str) -> None:
    """The file's shape: a header of identifiers, enough rows, the target, no constant or true/false column."""
    if len(frame.columns) < 2:
        raise InitRefused(f"the file has {len(frame.columns)} column: is it a comma-separated file with a header row?")
    twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if twice:
        raise InitRefused(f"columns named twice: {_listed(twice)} (conf/base's ingestion.rename may have made one)")
    bad = [str(c) for c in frame.columns if not _NAME.match(str(c))]
    if bad:
        raise InitRefused(
            f"column names {_listed(bad)} are not identifiers (letters, digits, _): rename them in the CSV "
            "(they become the API's fields)"
        )
    if target not in frame.columns:
        raise InitRefused(f"TARGET={target}: no such column (the file has {_listed(list(frame.columns))})")
    if len(frame) < MIN_ROWS:
        raise InitRefused(f"{len(frame)} rows: too few to infer a contract and measure a floor (at least {MIN_ROWS})")
    for name in frame.columns:
        values = frame[name].dropna()
        if name != target and values.nunique() <= 1:
            what = "is empty" if values.empty else f"has one value ({values.iloc[0]!r}) in every row"
            raise InitRefused(f"`{name}` {what}: drop it from the CSV (a constant teaches a model nothing)")
        if name != target and (pd.api.types.is_bool_dtype(values) or not _one_type(values)):
            raise InitRefused(
                f"`{name}` is read as true/false: the data contract has no boolean type; write it as 0/1 or as text"
            )


def _one_type(values: pd.Series) -> bool:
    """An object column read from a CSV holds text only, unless pandas mixed in booleans (true/false with gaps)."""
    return values.dtype != object or all(isinstance(v, str) for v in values)


def gaps(count: int) -> str:
    """`1 gap`, `11 gaps`: a count of missing values as the refusals, the proposal and its notes print it."""
    return f"{count} gap" if count == 1 else f"{count} gaps"


def check_target(frame: pd.DataFrame, target: str, positive: str | None) -> tuple[list[str], str, str]:
    """The target's two values (sorted), its positive class and why that one; refuses what is not binary text."""
    series = frame[target]
    if series.isna().any():
        raise InitRefused(f"target `{target}` has {gaps(int(series.isna().sum()))}: drop those rows from the CSV")
    values = sorted(series.astype(str).unique().tolist())
    if len(values) != 2:
        raise InitRefused(
            f"target `{target}` has {len(values)} values ({_listed(values)}): binary classification needs two"
        )
    if series.dtype == bool or pd.api.types.is_numeric_dtype(series):
        raise InitRefused(
            f"target `{target}` is read as {values[0]}/{values[1]}: the contract's target is text (its positive_class "
            "is a value); write it as text in the CSV, e.g. no/yes"
        )
    counts = series.value_counts()
    if counts.min() < MIN_CLASS_ROWS:
        raise InitRefused(f"target `{target}`: {counts.idxmin()!r} has {counts.min()} rows (at least {MIN_CLASS_ROWS})")
    if positive is not None:
        if positive not in values:
            raise InitRefused(f"POSITIVE={positive}: not a value of `{target}` ({_listed(values)})")
        return values, positive, "given with POSITIVE="
    obvious = OBVIOUS_POSITIVE.get(frozenset(v.lower() for v in values))
    if obvious is None:
        raise InitRefused(
            f"target `{target}` has values {values[0]!r} and {values[1]!r}: say which is positive with POSITIVE=..."
        )
    return values, next(v for v in values if v.lower() == obvious), f"{'/'.join(values)}: the positive is clear"


def check_id(frame: pd.DataFrame, target: str, id_column: str | None) -> str | None:
    """ID= if given (it must be unique per row), else the first column unique per row and named like an id."""
    if id_column is None:
        for name in frame.columns:
            series = frame[name]
            if name != target and looks_like_id(str(name)) and series.dtype.kind in "iuO" and _unique(series):
                return str(name)
        return None
    if id_column not in frame.columns:
        raise InitRefused(f"ID={id_column}: no such column (the file has {_listed(list(frame.columns))})")
    if id_column == target:
        raise InitRefused(f"ID={id_column} is the target")
    series = frame[id_column]
    if not _unique(series):
        repeated = int(series.duplicated().sum())
        raise InitRefused(
            f"ID={id_column} is not unique per row ({repeated} repeated values, {gaps(int(series.isna().sum()))}):"
            " an id names one row"
        )
    if series.dtype.kind not in "iuO":
        raise InitRefused(f"ID={id_column} holds {series.dtype} values: an id is whole numbers or text")
    return id_column


def _unique(series: pd.Series) -> bool:
    return bool(series.notna().all() and series.is_unique)


def feature_kind(series: pd.Series, name: str) -> str:
    """numeric for numbers; categorical for text with at most MAX_CATEGORIES values; free text is refused."""
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    distinct = series.nunique()
    if distinct <= MAX_CATEGORIES:
        return "categorical"
    numbers = pd.to_numeric(series.dropna(), errors="coerce")
    if numbers.notna().mean() >= 0.9:
        odd = series.dropna()[numbers.isna()].unique().tolist()
        raise InitRefused(
            f"`{name}` is text but {math.floor(numbers.notna().mean() * 1000) / 10:g} % of it is numbers "
            f"(not: {_listed(odd, 3)}): "
            "fix those values in the CSV (or leave them empty)"
        )
    hint = f", or pass ID={name} if it names the row" if _unique(series) else ""
    raise InitRefused(
        f"`{name}` is text with {distinct} distinct values (more than {MAX_CATEGORIES}): free text, not a category "
        f"— drop it from the CSV{hint}"
    )


def check_leakage(frame: pd.DataFrame, target: str, positive: str, kinds: dict[str, str]) -> None:
    """A feature that equals or determines the target is a copy of the answer (leakage), not a predictor."""
    outcome = frame[target]
    for name, kind in kinds.items():
        series = frame[name]
        known = series.notna()
        if kind == "categorical" and (series[known] == outcome[known]).all():
            raise InitRefused(f"`{name}` equals the target `{target}` (leakage): drop it from the CSV")
        few = series.nunique() <= min(MAX_CATEGORIES, len(frame) // 10)  # more: many values would be single rows
        if few and frame.loc[known].groupby(series[known])[target].nunique().max() == 1:
            raise InitRefused(
                f"`{name}` determines the target `{target}` perfectly (each value goes with one class): "
                "leakage — drop it from the CSV"
            )
        if kind == "numeric":
            positives, negatives = series[known & (outcome == positive)], series[known & (outcome != positive)]
            if positives.min() > negatives.max() or positives.max() < negatives.min():
                raise InitRefused(
                    f"`{name}` separates the classes of `{target}` perfectly at one threshold: leakage — drop it "
                    "from the CSV"
                )
