"""The conf files of an inferred environment, as YAML a person reviews: every inferred choice carries its reason.

The files are rendered as text, not dumped, so that each value can have its comment beside it (a YAML dumper
drops comments) and the layout matches conf/mlc's. `install` moves a staged folder into place in one rename, so a
failure never leaves half a `conf/<name>/`.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import yaml

from level3_system.init.baseline import Baseline
from level3_system.init.infer import RANGE_MARGIN, ROWS_MAX_FACTOR, ROWS_MIN_SHARE, Inference

WIDTH = 120
KEY_ORDER = ("role", "dtype", "nullable", "nullable_when", "unique", "min", "max", "categories", "example")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .()/+=<>!-]*$")


def scalar(value: Any) -> str:
    """One YAML scalar that reads back as exactly `value` (`"yes"` stays a string, 1e-05 stays a float)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:  # YAML 1.1 reads 1e-05 as text
            text = f"{value:.17f}".rstrip("0")
        return text + ("0" if text.endswith(".") else "")
    text = str(value)
    if _PLAIN.match(text) and not text.endswith(" ") and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _flow_list(values: list[Any], indent: int) -> str:
    """`[a, b, ...]` after a prefix of `indent` characters, wrapped under its first item (as conf/mlc's lists)."""
    if not values:
        return "[]"
    items = [scalar(v) for v in values]
    lines, line, used = [], "[", indent + 1
    for position, item in enumerate(items):
        piece = item + ("]" if position == len(items) - 1 else ",")
        if line.strip() not in ("", "[") and used + 1 + len(piece) > WIDTH:
            lines.append(line)
            line, used = " " * (indent + 1) + piece, indent + 1 + len(piece)
        else:
            gap = "" if line.endswith("[") else " "
            line, used = line + gap + piece, used + len(gap) + len(piece)
    return "\n".join([*lines, line])


def _with_comment(line: str, comment: str | None) -> list[str]:
    if not comment:
        return [line]
    if len(line) + 4 + len(comment) <= WIDTH:
        return [f"{line}  # {comment}"]
    return [*_comment(comment, len(line) - len(line.lstrip())), line]


def _column(name: str, spec: dict[str, Any], comment: str | None) -> list[str]:
    ordered = [(key, spec[key]) for key in KEY_ORDER if key in spec and spec[key] is not None]
    inline = ", ".join(f"{k}: {_flow_list(v, 0) if isinstance(v, list) else scalar(v)}" for k, v in ordered)
    line = f"    {scalar(name)}: {{{inline}}}"
    if len(line) <= WIDTH and "\n" not in line:
        return _with_comment(line, comment)
    lines = _comment(comment, 4) if comment else []
    lines.append(f"    {scalar(name)}:")
    for key, value in ordered:
        prefix = f"      {key}: "
        lines.append(prefix + (_flow_list(value, len(prefix)) if isinstance(value, list) else scalar(value)))
    return lines


def data_contract(inference: Inference, source: str) -> str:
    contract = inference.contract
    rows, rate = contract["rows"], contract["positive_rate"]
    head = [
        f"# The data contract of `{contract['name']}`, inferred by `make init` from {source}: review it before you",
        '# trust it (level3_system/FORKING.md, "Start with make init"). It replaces conf/base\'s contract whole.',
        "#",
        "# role: id | target | numeric | categorical   (numeric and categorical columns are the model's features)",
        "# dtype: int | float | str                    nullable: false unless said",
        f"# min/max: the observed range widened by {RANGE_MARGIN:.0%} of its span on each side (never below 0 where no",
        "#          value is negative), two significant digits: API bounds too. categories: every observed value.",
        f"# example: a real value, from {inference.example_note} of the file (the API's example customer)",
        "data_contract:",
        f"  name: {scalar(contract['name'])}",
        f"  description: {scalar(contract['description'])}",
        *_with_comment(
            f"  rows: {{min: {rows['min']}, max: {rows['max']}}}",
            f"observed {inference.rows}: {ROWS_MIN_SHARE:g} to {ROWS_MAX_FACTOR} times that",
        ),
        *_with_comment(
            f"  positive_rate: {{min: {scalar(rate['min'])}, max: {scalar(rate['max'])}}}",
            f"observed {inference.positive_rate:.3f}: half to double",
        ),
        f"  target: {scalar(contract['target'])}",
        f"  positive_class: {json.dumps(contract['positive_class'], ensure_ascii=False)}",
        "  columns:",
    ]
    for name, spec in contract["columns"].items():
        head += _column(name, spec, inference.comments.get(name))
    return "\n".join(head) + "\n"


def processing(inference: Inference, base_rules: list[str]) -> str:
    dropped = [name for name in base_rules if name not in inference.fill]
    if not inference.fill:
        return (
            "# No gaps in the data: no fill rule. Environments merge with conf/base key by key, so base's rules\n"
            "# would carry over; null drops them (a rule for a column the contract lacks is refused).\n"
            "clean:\n  fill_missing: null\n"
        )
    lines = [
        "# A fill rule for every column with gaps (inferred by make init; the contract allows the gaps, and the",
        "# filled value is a category or within the bounds). Level 3's raw gate checks the gaps occur only where",
        "# the contract's nullable_when says. conf/base's rules for other columns are set to null: environments",
        "# merge key by key, and null drops one.",
        "clean:",
        "  fill_missing:",
    ]
    for name, rule in inference.fill.items():
        lines += _with_comment(f"    {scalar(name)}: {scalar(rule.value)}", rule.why)
    lines += [f"    {scalar(name)}: null  # conf/base's rule" for name in dropped]
    return "\n".join(lines) + "\n"


def ingestion(env: str, csv: str, rename: dict[str, str], rows: int, sha256: str) -> str:
    renamed = "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in rename.items()) + "}"
    lines = [
        f"# The source of `{env}`, written by make init: the CSV file it was inferred from. The flow and `make data`",
        "# read the copy init made (the catalog's raw file) and check its SHA-256; they read `csv` again only when",
        "# that copy is missing.",
        "ingestion:",
        "  source: csv",
        "  rdatasets: null",
        f"  csv: {scalar(csv)}",
        *_with_comment(f"  rename: {renamed}", "conf/base's (merged in anyway); `name: name` undoes one"),
        f"  expected_rows: {rows}",
        "  # SHA-256 of the raw file as `make data` writes it (the source read and written back by pandas: not",
        "  # always the source file's own checksum). A changed source is refused from then on.",
        f"  sha256: {sha256}",
    ]
    return "\n".join(lines) + "\n"


def catalog(env: str) -> str:
    return (
        f"# The raw file of `{env}`: a name of its own, so it never overwrites another environment's raw file (and\n"
        "# its checksum record). Every other dataset keeps conf/base's path. `_data` is local to this file.\n"
        "_data: ${runtime_params:data_dir,data}\n\n"
        "raw_telco_churn:\n"
        "  type: pandas.CSVDataset\n"
        f"  filepath: ${{_data}}/01_raw/{env}.csv\n"
    )


def level3(env: str, inference: Inference, baseline: Baseline, source: str) -> str:
    contract = inference.contract
    segments = inference.segments
    features = [c for c, spec in contract["columns"].items() if spec["role"] in ("numeric", "categorical")]
    example = segments[0] if segments else features[0]
    changed = segments[-1] if segments else features[-1]
    categories = contract["columns"][changed].get("categories") or [0, 1]
    purpose = (
        f"Rank the rows of {source} by the probability that {contract['target']} is "
        f"{contract['positive_class']!r}. Written by make init: say what the model is for, and what it is not for."
    )
    lines = [
        *_comment(
            f"Level 3 settings of `{env}`, written by make init (read with KEDRO_ENV={env} / CHURN_KEDRO_ENV={env}). "
            "They merge key by key with conf/base/level3.yml: what is not set here is base's; null drops a base value."
        ),
        "level3:",
        f"  experiment: {scalar(env)}",
        f"  registered_model: {scalar(env)}",
        "  promotion:",
        *_comment(f"Floor on the holdout from a quick baseline: {baseline.describe()}.", 4),
        f"    min_roc_auc: {baseline.floor:.2f}",
        "    # Behaviour checks need domain knowledge, so init sets none (null drops conf/base's Telco checks). Add",
        "    # them once you know a feature that should not matter and a change whose effect you know, measured first",
        '    # (level3_system/FORKING.md, "Choosing the promotion rules"), e.g.',
        f"    #   invariance: {{column: {example}, max_mean_delta: 0.02, max_delta: 0.10}}",
        f"    #   directional: {{column: {changed}, from_value: {scalar(categories[0])}, "
        f"to_value: {scalar(categories[-1])}, min_share: 0.95}}",
        "    invariance: null",
        "    directional: null",
        "  # Who gets the action (an offer), in money: conf/base's placeholders until you set your own (FORKING.md).",
        "  decision:",
        "    offer_cost: 50            # per action taken",
        "    churn_loss: 500           # value lost when the positive class happens",
        "    offer_success_rate: 0.5   # share of positives the action prevents",
        "  model_card:",
        "    intended_use: >-",
        *[f"      {part}" for part in _wrap(purpose, WIDTH - 6)],
        "    limitations:",
        f"      - {scalar('Inferred by make init from one file: its bounds and floor come from that file alone.')}",
        "    # Categorical features with few categories; a numeric one takes bins and labels (conf/mlc/level3.yml).",
        "    segments:" + ("" if segments else " []"),
        *[f"      - column: {scalar(column)}" for column in segments],
        "  # make traffic SCENARIO=baseline replays this data; conf/base's other scenarios name Telco's columns.",
    ]
    return "\n".join(lines) + "\n"


def _comment(text: str, indent: int = 0) -> list[str]:
    """`text` as comment lines within the line length."""
    return [f"{' ' * indent}# {line}" for line in _wrap(text, WIDTH - indent - 2)]


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def install(staged: Path, target: Path) -> None:
    """`staged` becomes `target` (replacing it when there is one): a rename each, so a failure leaves one whole."""
    backup = target.with_name(f".{target.name}.replaced-{uuid.uuid4().hex[:8]}") if target.exists() else None
    if backup is not None:
        target.rename(backup)
    try:
        staged.rename(target)
    except OSError:
        if backup is not None:
            backup.rename(target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
