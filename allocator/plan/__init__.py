"""Multi-year plans: conversion over the years, portfolios of sites, representative periods.

``schema`` declares the site file's ``[plan]`` table and the portfolio file,
``periods`` picks representative hours, ``data`` lays each plan year out on
them, ``model`` adds the yearly LP rows, ``site_plan`` and ``portfolio`` solve.
Importing this package registers the ``[plan]`` table's cross-field checks with
the site schema (which never imports this wing); the check imports its module
on first use, so ``import allocator`` stays light.
"""

from __future__ import annotations

from ..inputs.extensions import register_section_validator


def _plan_problems(site_file, where: str) -> list:
    if site_file.plan is None:
        return []
    from .data import plan_problems

    return plan_problems(site_file, where)


register_section_validator("plan", _plan_problems)
