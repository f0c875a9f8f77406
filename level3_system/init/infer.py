"""A data contract inferred from a frame: roles, dtypes, categories, ranges, gaps and the target — or a refusal.

Pure functions of a DataFrame (no I/O, the input is never changed), so what `make init` proposes is testable on
frames built in a test. Every threshold is a named constant: a person reviewing the proposal must be able to
say why a column got its role and its bounds. The refusals (`refusals.py`) run first: what reaches these
functions can be described soundly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from level3_system.init import refusals
from level3_system.init.refusals import MAX_CATEGORIES, InitRefused, gaps

# Numeric bounds: the observed range widened by this share of its span on each side, never below 0 for a column
# with no negative values, rounded outwards to two significant digits. They are API bounds (FORKING.md): a
# plausible range, not the observed extremes. A 0/1 column keeps [0, 1].
RANGE_MARGIN = 0.5
# Gaps explained by another column: all gaps share one value v of it, at least this share of the rows with v are
# gaps (the condition names the gaps, not a coincidence), and there are at least this many gaps.
EXPLAINED_SHARE = 0.9
MIN_EXPLAINED_GAPS = 3
# Row count bounds: half to 100 times the observed count (later files, and feedback rows, may be larger).
ROWS_MIN_SHARE, ROWS_MAX_FACTOR = 0.5, 100
# Positive rate bounds: half to double the observed rate (at most halfway to 1), two significant digits.
RATE_MIN_SHARE, RATE_MAX_FACTOR = 0.5, 2
# Review notes for numbers with few distinct values and for long category lists.
FEW_VALUES, MANY_CATEGORIES = 10, 20
# Model card segments: the first few categorical features with at most this many categories.
SEGMENT_MAX_CATEGORIES, SEGMENTS = 6, 3
MISSING = "missing"  # what a gap of a text column is filled with (a category of its own)


@dataclass(frozen=True)
class FillRule:
    value: float | int | str
    why: str  # the YAML comment beside the rule


@dataclass
class Inference:
    """The proposal: the `data_contract:` mapping as the YAML holds it, the fill rules, and what a person reads."""

    contract: dict[str, Any]
    rows: int
    positive_rate: float
    example_note: str = ""  # which row the examples come from
    fill: dict[str, FillRule] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)  # column -> comment beside it in the YAML
    segments: list[str] = field(default_factory=list)
    described: list[str] = field(default_factory=list)  # one line per column: what was inferred
    review: list[str] = field(default_factory=list)  # what a person must check before training


def round_out(value: float, up: bool) -> float:
    """`value` rounded away from the data to two significant digits (364.5 -> 370, 0.0707 -> 0.07 down)."""
    if value == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(value))) - 1
    step = 10.0**exponent
    rounded = (math.ceil if up else math.floor)(value / step) * step
    return round(rounded, max(0, -exponent))


def _python(value: Any) -> Any:
    """numpy scalars as the plain Python values YAML and pydantic expect."""
    return value.item() if hasattr(value, "item") else value


def _example_row(frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """The first complete row: one real customer is a better example than a value picked per column."""
    complete = frame.dropna()
    if complete.empty:
        return frame.bfill().iloc[0], "each column's first value (no row is complete)"
    position = frame.index.get_loc(complete.index[0])
    return complete.iloc[0], "the first row" if position == 0 else f"row {position + 1} (the first with no gap)"


def _numeric(name: str, series: pd.Series) -> tuple[dict[str, Any], str, list[str]]:
    """Bounds widened from the observed range (RANGE_MARGIN), the dtype pandas reads (a gap makes ints floats)."""
    values = series.dropna()
    low, high = _python(values.min()), _python(values.max())
    dtype = "int" if pd.api.types.is_integer_dtype(series) else "float"
    review = []
    if set(values.unique()) <= {0, 1}:
        bounds, shown = (0, 1), "0/1 (a flag)"
    else:
        span = high - low
        lower = low - RANGE_MARGIN * span
        lower = max(lower, 0.0) if low >= 0 else lower
        bounds = (round_out(lower, up=False), round_out(high + RANGE_MARGIN * span, up=True))
        if dtype == "int":
            bounds = (math.floor(bounds[0]), math.ceil(bounds[1]))
        shown = f"{bounds[0]:g}–{bounds[1]:g} (observed {low:g}–{high:g})"
        distinct = values.nunique()
        if distinct <= FEW_VALUES:
            review.append(f"`{name}`: numeric with {distinct} distinct values — if they are codes, write them as text")
    if series.is_unique and dtype == "int":
        review.append(f"`{name}`: unique per row — if it is an id, pass ID={name}")
    return {"role": "numeric", "dtype": dtype, "min": bounds[0], "max": bounds[1]}, shown, review


def _categorical(name: str, series: pd.Series) -> tuple[dict[str, Any], str, list[str]]:
    """Every observed value is an allowed category (sorted): a new one is refused until the contract lists it."""
    categories = sorted(series.dropna().unique().tolist())
    review = []
    if len(categories) > MANY_CATEGORIES:
        review.append(f"`{name}`: {len(categories)} categories — any other value is refused by the gates and the API")
    listed = ", ".join(categories[:6]) + (", …" if len(categories) > 6 else "")
    return {"role": "categorical", "dtype": "str", "categories": categories}, f"{len(categories)}: {listed}", review


def _condition(column: str, value: Any, series: pd.Series) -> str:
    """`tenure == 0`, `contract == 'Two year'`: the form `validation.checks.negate` parses (text quoted)."""
    if pd.api.types.is_integer_dtype(series):
        return f"{column} == {int(value)}"
    if pd.api.types.is_float_dtype(series):
        return f"{column} == {float(value)!r}"
    quote = '"' if "'" in str(value) else "'"
    return f"{column} == {quote}{value}{quote}"


def explain_gaps(frame: pd.DataFrame, name: str, candidates: list[str]) -> tuple[str, str, bool] | None:
    """The condition under which `name`'s gaps occur (`tenure == 0`), how well it covers them, and whether it is
    on a number (a condition the contract can carry); or None. A number wins a tie."""
    gaps = frame[name].isna()
    count = int(gaps.sum())
    if count < MIN_EXPLAINED_GAPS:
        return None
    best: tuple[float, bool, str, str] | None = None
    for other in candidates:
        values = frame.loc[gaps, other].unique()
        if len(values) != 1:
            continue
        rows = int((frame[other] == values[0]).sum())
        share, numeric = count / rows, pd.api.types.is_numeric_dtype(frame[other])
        if share >= EXPLAINED_SHARE and (best is None or (share, numeric) > best[:2]):
            best = (share, numeric, _condition(other, values[0], frame[other]), f"{count} of the {rows} rows with it")
    return None if best is None else (best[2], best[3], best[1])


def _gaps(frame: pd.DataFrame, name: str, spec: dict[str, Any], candidates: list[str]) -> FillRule:
    """Nullability and a fill rule the contract accepts (the filled value is a category or within the bounds).

    A condition on a text column is not written as `nullable_when`: the row checks of scoring and feedback
    (validation/rows.py) compare a condition's column as a number. The gaps are then declared `nullable`.
    """
    count = int(frame[name].isna().sum())
    explained = explain_gaps(frame, name, candidates)
    if explained and explained[2]:
        spec["nullable_when"] = explained[0]
    else:
        spec["nullable"] = True
    where = f", all where {explained[0]} ({explained[1]})" if explained else ""
    if explained and not explained[2]:
        where += " — a text condition, so declared nullable"
    if spec["role"] == "categorical":
        if MISSING not in spec["categories"]:
            spec["categories"] = sorted([*spec["categories"], MISSING])
        return FillRule(MISSING, f"{gaps(count)}{where}: {MISSING!r}, a category of its own (a model learns it)")
    if explained:
        rule = FillRule(0.0, f"{gaps(count)}{where}: 0 (nothing there yet) — check that 0 is what a gap means")
    else:
        median = float(frame[name].median())
        rule = FillRule(median, f"{gaps(count)} no other column explains: the median (a model cannot tell them apart)")
    spec["min"], spec["max"] = min(spec["min"], rule.value), max(spec["max"], rule.value)
    return rule


def _id_spec(series: pd.Series) -> dict[str, Any]:
    spec: dict[str, Any] = {"role": "id", "dtype": "int" if series.dtype.kind in "iu" else "str"}
    if spec["dtype"] == "int" and series.min() >= 0:
        spec["min"] = 0
    return {**spec, "unique": True}


def _feature(
    frame: pd.DataFrame, column: str, kind: str, example: Any, candidates: list[str], result: Inference
) -> dict[str, Any]:
    """One feature's spec; its gaps' rule, YAML comment and review notes go into `result`."""
    series = frame[column]
    spec, shown, review = (_numeric if kind == "numeric" else _categorical)(column, series)
    result.review += review
    detail = f"{column}: {spec['role']} {spec['dtype']} {shown}"
    if "observed" in shown:
        result.comments[column] = shown[shown.index("observed") :].rstrip(")")
    if series.isna().any():
        rule = _gaps(frame, column, spec, [c for c in candidates if c != column])
        result.fill[column] = rule
        result.comments[column] = rule.why
        detail += f"; {gaps(int(series.isna().sum()))}, filled with {rule.value!r}"
        result.review.append(f"`{column}`: {rule.why}")
    spec["example"] = _python(example) if pd.notna(example) else None
    result.described.append(detail)
    return spec


def infer(
    frame: pd.DataFrame, target: str, *, name: str, id_column: str | None = None, positive: str | None = None
) -> Inference:
    """The proposed contract of `frame` (columns as `make data` writes them), or InitRefused with one line."""
    refusals.check_frame(frame, target)
    categories, positive_class, why_positive = refusals.check_target(frame, target, positive)
    identifier = refusals.check_id(frame, target, id_column)
    features = [c for c in frame.columns if c not in (target, identifier)]
    kinds = {c: refusals.feature_kind(frame[c], c) for c in features}
    refusals.check_leakage(frame, target, positive_class, kinds)

    rate = float((frame[target] == positive_class).mean())
    contract: dict[str, Any] = {
        "name": name,
        "description": f"Inferred by make init from {len(frame)} rows: review it (level3_system/FORKING.md).",
        "rows": {"min": max(1, math.floor(len(frame) * ROWS_MIN_SHARE)), "max": len(frame) * ROWS_MAX_FACTOR},
        "positive_rate": {
            "min": round_out(rate * RATE_MIN_SHARE, up=False),
            "max": round_out(min(rate * RATE_MAX_FACTOR, (1 + rate) / 2), up=True),
        },
        "target": target,
        "positive_class": positive_class,
        "columns": {},
    }
    example, where = _example_row(frame[features])
    result = Inference(contract=contract, rows=len(frame), positive_rate=rate, example_note=where)
    candidates = [c for c in features if frame[c].notna().all() and frame[c].nunique() <= MAX_CATEGORIES]
    for column in frame.columns:
        if column == identifier:
            spec = _id_spec(frame[column])
            result.described.append(f"{column}: id {spec['dtype']} (unique per row, not a feature)")
        elif column == target:
            spec = {"role": "target", "dtype": "str", "categories": categories}
            other = next(c for c in categories if c != positive_class)
            result.described.append(
                f"{column}: target, positive class {positive_class!r} ({rate:.1%}; {why_positive}), other {other!r}"
            )
        else:
            spec = _feature(frame, column, kinds[column], example[column], candidates, result)
        contract["columns"][column] = spec
    result.segments = [
        c for c in features if kinds[c] == "categorical" and frame[c].nunique() <= SEGMENT_MAX_CATEGORIES
    ][:SEGMENTS]
    result.review[:0] = [
        f"numeric bounds: the observed range ± {RANGE_MARGIN:.0%} of its span (API bounds too)",
        f"examples (the API's example customer): {where} of the file",
    ]
    if identifier is None:
        result.review.append(
            "no id column (none is unique per row and named like one): pass ID=column if there is one, else "
            "feedback can name requests only"
        )
    return result


__all__ = ["FillRule", "Inference", "InitRefused", "infer", "round_out"]
