"""The two fields every time-series table of a site file has: ``time_label`` and ``time_format``.

Kept at the base of the package so that every wing's schema (site, power market) declares them
the same way; reading the times they describe is ``allocator.inputs.time_labels``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

TIME_LABELS = ("start", "end")
TIME_LABEL_DOC = ('Which end of its interval a time labels: "start" (default) or "end" (hour-ending data: '
                  '2024-03-10 02:00 is the hour 01:00-02:00; 24:00 is midnight at the end of the day).')
TIME_FORMAT_DOC = ('strftime pattern of the times when they are not ISO 8601, e.g. "%m/%d/%Y %H:%M" for '
                   '07/06/2023 00:00 or "%d.%m.%Y %H:%M" for 06.07.2023 00:00; default ISO 8601.')


def check_time_format(value: str | None) -> str | None:
    """A ``time_format`` must be a strftime pattern with a date in it."""
    if value is not None and not ("%" in value and any(code in value for code in ("%Y", "%y", "%d", "%j", "%s"))):
        raise ValueError('not a strftime pattern with a date (e.g. "%m/%d/%Y %H:%M")')
    return value


TimeLabel = Literal["start", "end"]
TimeFormat = Annotated[str | None, AfterValidator(check_time_format)]
