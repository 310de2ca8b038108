"""Write the reports of a run folder (``report.html``, ``report.xlsx``) from its files alone.

Used by ``allocator solve --report`` (inside the unpublished run folder, so
the folder appears complete with its reports or not at all) and by
``allocator report DIR`` (each report replaced atomically in place).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import InputError, Problem
from .run_files import read_run
from .run_folder import replace_files, unrecorded_reports

FORMATS = {"html": "report.html", "xlsx": "report.xlsx"}


def parse_formats(text: str, option: str = "--report") -> list[str]:
    """``"html,xlsx"`` -> ``["html", "xlsx"]``; unknown names are an :class:`InputError`."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError([Problem(f"{option} {text}", f"unknown report format {', '.join(map(repr, unknown))}."
                                  if unknown else "names no report format.",
                                  f"Use a comma-separated list of {', '.join(FORMATS)}, e.g. {option} html,xlsx.")],
                         "the command line")
    return list(dict.fromkeys(names))


def formats_for_solve(text: str, out: Path | None) -> list[str]:
    """The formats of ``allocator solve --report TEXT``; an error without ``--out``."""
    formats = parse_formats(text)
    if out is None:
        raise InputError([Problem("--report", "needs a run folder to write into.", "Add --out DIR.")],
                         "the command line")
    return formats


def written(seconds: dict[str, float]) -> str:
    """``"report.html in 1.1 s, report.xlsx in 1.9 s"`` from :func:`write_reports`' timings."""
    return ", ".join(f"{name} in {s:.1f} s" for name, s in seconds.items() if name.startswith("report."))


class ReportStep:
    """The ``finish`` hook of :func:`~allocator.reports.run_folder.write_result` that writes the
    reports into the unpublished run folder; ``note`` then says what it wrote and how long it took."""

    def __init__(self, formats: list[str], name: str) -> None:
        self.formats, self.name, self.note = formats, name, ""

    def __call__(self, tmp: Path) -> None:
        self.note = ", " + written(write_reports(tmp, self.formats, name=self.name))


def write_reports(folder: Path, formats: list[str], name: str | None = None) -> dict[str, float]:
    """Read ``folder``'s result files and (re)write the reports in ``formats``.

    ``name`` is the run's display name (default: the folder's name).

    Returns
    -------
    dict[str, float]
        Seconds spent per report file (plus ``"read"``).
    """
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    run = read_run(folder, name)
    foreign = unrecorded_reports(folder, [FORMATS[f] for f in formats])
    if foreign:
        raise InputError([Problem(str(Path(folder) / n), "exists and the folder's manifest.json does not record it "
                                  "as a report allocator wrote, so it is not replaced.",
                                  "Move it away (or rename it) and rerun.") for n in foreign], str(folder))
    seconds["read"] = time.perf_counter() - t0

    def timed(name: str, writer):
        def write(path: Path) -> None:
            t = time.perf_counter()
            writer(run, path)
            seconds[name] = time.perf_counter() - t
        return write

    writers = {}
    decide = run.get("decision.csv") is not None  # a decide folder has its own page and workbook
    for fmt in formats:
        if fmt == "html":
            if decide:
                from .decide import write_html
            else:
                from .html import write_html

            writers[FORMATS[fmt]] = timed(FORMATS[fmt], write_html)
        elif fmt == "xlsx":
            if decide:
                from .decide import write_xlsx
            else:
                from .excel import write_xlsx

            writers[FORMATS[fmt]] = timed(FORMATS[fmt], write_xlsx)
    try:
        replace_files(Path(folder), writers)
    except OSError as err:
        from ..out_check import REASONS

        reason = REASONS.get(err.errno or 0, err.strerror or str(err))
        raise InputError([Problem(str(folder), f"cannot write the reports: {reason}; the old reports are kept.",
                                  "Check the folder's permissions and free space, then rerun.")],
                         str(folder)) from None
    return seconds
