"""Problems found in user input, and the errors that carry them.

Every user-facing failure is a list of :class:`Problem`, each naming where it
is (file, field or rows), what is wrong and how to fix it. The CLI prints them
all at once and exits 1 (bad input) or 2 (infeasible / solver failure).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    Parameters
    ----------
    where : str
        File and field or rows, e.g. ``"sites/odessa.toml: ai.lease[0].min_mw"``.
    message : str
        What is wrong, with the offending value.
    fix : str
        How to fix it (may be empty when the message says it all).
    """

    where: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        if self.fix:
            text += f" {self.fix}"
        return text


class AllocatorError(Exception):
    """Base class of the errors the CLI turns into an exit code."""

    exit_code = 1

    def __init__(self, problems: list[Problem], headline: str) -> None:
        self.problems = list(problems)
        self.headline = headline
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.headline}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InputError(AllocatorError):
    """Bad input: exit 1, nothing written."""

    exit_code = 1

    def __init__(self, problems: list[Problem], source: str = "the input") -> None:
        n = len(problems)
        super().__init__(problems, f"{n} problem{'s' if n != 1 else ''} in {source}")


class InfeasibleError(AllocatorError):
    """The site's requirements cannot all hold: exit 2, nothing written."""

    exit_code = 2

    def __init__(self, problems: list[Problem], site_id: str) -> None:
        super().__init__(problems, f"site {site_id!r} is infeasible")


class SolverError(AllocatorError):
    """The solver failed, hit a limit or returned no usable answer: exit 2."""

    exit_code = 2

    def __init__(self, problems: list[Problem], headline: str = "the solver failed") -> None:
        super().__init__(problems, headline)


def collect(problems: list[Problem], source: str) -> None:
    """Raise :class:`InputError` if ``problems`` is not empty."""
    if problems:
        raise InputError(problems, source)


def every_bad_file(errors: list[InputError], n_files: int) -> InputError:
    """One error listing the problems of every bad site file (the file's own error when only one)."""
    if len(errors) == 1:
        return errors[0]
    return InputError([p for err in errors for p in err.problems], f"{len(errors)} of {n_files} site files")
