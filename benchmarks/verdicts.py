"""How every benchmark reports a target: PASS or MISS beside the figure, never a failure (a benchmark, not a test).

Its own module so that a benchmark reports without importing another benchmark (and what that one imports).
"""

from __future__ import annotations


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def verdict_table(rows: list[tuple[str, str, bool]]) -> str:
    """(what, figure, passed) rows as aligned PASS/MISS lines: bench_trees' and bench_fork's targets."""
    width = max(len(what) for what, _, _ in rows)
    return "\n".join(f"  {verdict(ok)}  {what:<{width}}  {figure}" for what, figure, ok in rows)


def median_verdict(seconds: list[float], target: float, digits: int = 2) -> str:
    """Median, min and max of timed runs, then the median's PASS/MISS against `target` seconds."""
    import statistics

    median = statistics.median(seconds)
    return (
        f"  median {median:.{digits}f} s   min {min(seconds):.{digits}f} s   max {max(seconds):.{digits}f} s\n"
        f"  {verdict(median <= target)}  median ≤ {target:g} s"
    )
