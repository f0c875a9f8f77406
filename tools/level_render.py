"""The level map as a terminal table and as a self-contained HTML page (inline CSS, no script, no external URL)."""

from __future__ import annotations

import html
import shutil
import textwrap
from collections.abc import Iterable
from pathlib import Path

from tools.level_sources import Dataset, Level2, LevelMap, Section, Wrapper

CODE_LINES_SHOWN = 3  # per level-1 section in the terminal; the HTML page shows them all


def _dataset_text(d: Dataset) -> str:
    versioned = ", versioned" if d.versioned else ""
    return f"{d.name} ({d.type}{versioned})"


def level1_lines(section: Section | None, limit: int | None) -> list[str]:
    if section is None:
        return ["(no section)"]
    code = [line for line in section.lines if line.strip() and not line.lstrip().startswith("#")]
    last = section.first + len(section.lines) - 1
    head = [f"train.py:{section.first}-{last}, {len(code)} lines of code"]
    shown = code if limit is None else code[:limit]
    more = [f"… {len(code) - len(shown)} more"] if len(shown) < len(code) else []
    consts = ["reads " + ", ".join(section.constants)] if section.constants else []
    return head + [f"> {line}" for line in shown] + more + consts


def level2_lines(step: Level2 | None) -> list[str]:
    if step is None:
        return ["(no node)"]

    def listed(label: str, datasets: Iterable[Dataset], arrow: bool = False, paths: bool = False) -> list[str]:
        out = []
        for d in datasets:
            out.append(f"{label} {_dataset_text(d)}" + (f" <- node {d.producer}" if arrow and d.producer else ""))
            out += [f"    {d.filepath}"] if paths and d.filepath else []
        return out

    if step.kind == "catalog":
        head = ["catalog reads the pipelines' free input"] if step.outputs else ["catalog writes what nodes return"]
        return head + listed("out", step.outputs, paths=True) + listed("in ", step.inputs, arrow=True, paths=True)
    return (
        [f"node {step.name} (pipeline {step.pipeline})", f"{Path(step.source).name} {step.function}"]
        + listed("in ", step.inputs)
        + [f"par {p}" for p in step.params]
        + listed("out", step.outputs)
    )


def level3_lines(wrappers: list[Wrapper]) -> list[str]:
    return [f"{w.kind} {w.name}: {w.detail}" for w in wrappers] or ["(nothing: level 2 as is)"]


def _cell(lines: list[str], width: int) -> list[str]:
    out = []
    for line in lines:
        if line.startswith("> "):  # code: cut, not wrapped
            out.append(line if len(line) <= width else line[: width - 1] + "…")
        else:
            out += textwrap.wrap(line, width, subsequent_indent="  ") or [""]
    return out


def render_text(level_map: LevelMap, columns: int | None = None) -> str:
    total = max(110, min(columns or shutil.get_terminal_size((160, 40)).columns, 220))
    step_width = max(len(s.name) for s in level_map.steps)
    width = (total - step_width - 10) // 3
    widths = (step_width, width, width, width)

    def row(cells: list[list[str]]) -> list[str]:
        cells = [_cell(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(c) for c in cells)
        return [
            "│ " + " │ ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)) + " │"
            for i in range(height)
        ]

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    status = "consistent" if not level_map.problems else f"{len(level_map.problems)} problem(s), see below"
    out = [f"Each step at the three levels, read from the code ({len(level_map.steps)} steps, {status})"]
    out.append(rule("┌", "┬", "┐"))
    out += row([["step"], ["level 1: train.py section"], ["level 2: Kedro node + catalog"], ["level 3: wraps it"]])
    for step in level_map.steps:
        out.append(rule("├", "┼", "┤"))
        out += row(
            [
                [step.name],
                level1_lines(step.level1, CODE_LINES_SHOWN),
                level2_lines(step.level2),
                level3_lines(step.level3),
            ]
        )
    out.append(rule("└", "┴", "┘"))
    if level_map.service:
        out.append("level 3, service-wide: " + ", ".join(w.name for w in level_map.service))
    return "\n".join(out)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{padding:18px 24px 8px}h1{font-size:20px;margin:0 0 4px}header p{margin:0;color:#555}
.cols,.step{display:grid;grid-template-columns:136px minmax(0,1.4fr) minmax(0,1fr) minmax(0,.85fr);
gap:10px;padding:0 24px}
.cols{position:sticky;top:0;background:#f4f5f7;padding-top:10px;padding-bottom:8px;font-weight:600;z-index:1}
.cols div{padding:6px 10px;border-radius:6px;color:#fff}.cols div:first-child{background:#6b7280}
.l1h{background:#b45309}.l2h{background:#1d4ed8}.l3h{background:#047857}
.step{margin-bottom:10px}.name{font:600 15px ui-monospace,Menlo,Consolas,monospace;padding:10px 4px}
.card{background:#fff;border-radius:6px;padding:8px 10px;border-top:3px solid;box-shadow:0 1px 2px #0002}
.l1{border-color:#b45309}.l2{border-color:#1d4ed8}.l3{border-color:#047857}
pre{margin:6px 0 0;padding:6px 8px;background:#fbf7f0;border-radius:4px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere}.meta{color:#555;font-size:12px}code{font:12px ui-monospace,Menlo,Consolas,monospace}
ul{margin:4px 0 0;padding-left:0;list-style:none}li{margin:3px 0}
.tag{display:inline-block;min-width:58px;font:600 11px ui-monospace,monospace;padding:1px 5px;margin-right:6px;
border-radius:3px;background:#e5e7eb;text-align:center}.gate{background:#fde68a}.task{background:#bfdbfe}
.tracking{background:#ddd6fe}.registry{background:#fbcfe8}.decision{background:#fde68a}.endpoint{background:#bbf7d0}.none{color:#999}
.in{background:#e0e7ff}.out{background:#dcfce7}.par{background:#fef3c7}
footer{padding:8px 24px 24px;color:#555}
"""


def _h(text: object) -> str:
    """Escaped text; `://` is written as an entity so the page holds no literal URL (it loads nothing anyway)."""
    return html.escape(str(text)).replace("://", "&#58;//")


def _html_level1(section: Section | None) -> str:
    if section is None:
        return '<div class="card l1 none">no level-1 section</div>'
    last = section.first + len(section.lines) - 1
    consts = f'<div class="meta">reads {_h(", ".join(section.constants))}</div>' if section.constants else ""
    numbered = "\n".join(f"{section.first + i:>3}  {line}" for i, line in enumerate(section.lines))
    return (
        f'<div class="card l1"><div class="meta">level1_code/train.py lines {section.first}–{last}</div>'
        f"{consts}<pre>{_h(numbered)}</pre></div>"
    )


def _html_datasets(tag: str, datasets: Iterable[Dataset], arrow: bool = False) -> str:
    items = []
    for d in datasets:
        path = f' <span class="meta">{_h(d.filepath)}</span>' if d.filepath else ""
        by = f" ← node <code>{_h(d.producer)}</code>" if arrow and d.producer else ""
        versioned = ", versioned" if d.versioned else ""
        items.append(
            f'<li><span class="tag {tag}">{tag}</span><code>{_h(d.name)}</code> '
            f'<span class="meta">{_h(d.type)}{versioned}</span>{path}{by}</li>'
        )
    return "".join(items)


def _html_level2(step: Level2 | None) -> str:
    if step is None:
        return '<div class="card l2 none">no level-2 counterpart</div>'
    if step.kind == "catalog":
        what = "reads the pipelines' free input" if step.outputs else "writes what the nodes return"
        body = _html_datasets("out", step.outputs) + _html_datasets("in", step.inputs, arrow=True)
        source = '<span class="meta">(conf/base/catalog.yml)</span>'
        return f'<div class="card l2"><b>catalog</b> {what} {source}<ul>{body}</ul></div>'
    params = "".join(f'<li><span class="tag par">param</span><code>{_h(p)}</code></li>' for p in step.params)
    body = _html_datasets("in", step.inputs) + params + _html_datasets("out", step.outputs)
    return (
        f'<div class="card l2"><b>node <code>{_h(step.name)}</code></b> · pipeline <code>{_h(step.pipeline)}</code>'
        f'<div class="meta">{_h(step.source)} <code>{_h(step.function)}</code></div><ul>{body}</ul></div>'
    )


def _html_level3(wrappers: list[Wrapper]) -> str:
    if not wrappers:
        return '<div class="card l3 none">nothing: level 2 runs as is</div>'
    items = "".join(
        f'<li><span class="tag {w.kind}">{w.kind}</span><code>{_h(w.name)}</code> {_h(w.detail)}'
        + (f'<div class="meta">training/flow.py: <code>{_h(w.call)}</code></div>' if w.call else "")
        + "</li>"
        for w in wrappers
    )
    return f'<div class="card l3"><ul>{items}</ul></div>'


def render_html(level_map: LevelMap) -> str:
    rows = "".join(
        f'<section class="step"><div class="name">{_h(s.name)}</div>'
        f"{_html_level1(s.level1)}{_html_level2(s.level2)}{_html_level3(s.level3)}</section>"
        for s in level_map.steps
    )
    service = ", ".join(f"<code>{_h(w.name)}</code>" for w in level_map.service)
    status = "consistent" if not level_map.problems else "INCONSISTENT: " + _h("; ".join(level_map.problems))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Churn: one problem, three levels</title><style>{CSS}</style></head><body>
<header><h1>Churn: each step at the three levels</h1>
<p>Read from the code by <code>make diff</code> (tools/level_map.py): level 1's <code># %% step</code> markers,
level 2's Kedro pipelines and catalog, level 3's Prefect flow and service routes. {len(level_map.steps)} steps,
{status}.</p></header>
<div class="cols"><div>step</div><div class="l1h">level 1 · script section</div>
<div class="l2h">level 2 · Kedro node, catalog, parameters</div>
<div class="l3h">level 3 · gate, task, tracking, endpoint</div></div>
{rows}
<footer>Level 3, service-wide routes (no single step): {service}</footer>
</body></html>
"""
