"""Column names as words with their unit: ``ai_it_mw`` -> ``AI IT MW``, ``net_usd`` -> ``Net (USD)``.

One mapping for every report: the HTML tables and the workbook headers use
:func:`column_label`, and the workbook keeps the CSV name in each header's
note, so a reader can always find the column in the CSV. Unknown names still
read as words (underscores become spaces); a dotted path of a sweep
(``mining.hashprice_usd_per_ph_day``) keeps its table as a prefix.
"""

from __future__ import annotations

# unit suffixes, longest first: (suffix, unit as shown)
UNITS = (
    ("_usd_per_mw_year", "USD/MW-year"), ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_mwh", "USD/MWh"),
    ("_usd_per_ph_day", "USD/PH-day"), ("_usd_per_mw", "USD/MW"), ("_usd_per_1m_usd_capex", "USD per 1M USD capex"),
    ("_usd_per_mw_month", "USD/MW-month"), ("_usd_per_kw", "USD/kW"), ("_j_per_th", "J/TH"),
    ("_usd", "USD"), ("_mwh", "MWh"), ("_frac", "%"), ("_years", "years"), ("_year", "year"), ("_ph", "PH/s"),
    ("_utc", "UTC"), ("_hours", "hours"), ("_s", "s"),
)
# words written as their acronym
ACRONYMS = {"ai": "AI", "it": "IT", "npv": "NPV", "irr": "IRR", "bau": "business-as-usual", "usd": "USD",
            "mw": "MW", "mwh": "MWh", "pue": "PUE", "btc": "BTC", "id": "ID", "cp": "CP", "4cp": "4CP",
            "dr": "DR", "capex": "capex", "opex": "opex", "ercot": "ERCOT", "utc": "UTC", "tou": "TOU"}
# whole names whose plain words read better than the rule
SPECIAL = {"usd": "USD", "hours": "Hours", "year": "Year", "site_id": "Site", "scenario_id": "Scenario",
           "payback_years": "Payback (years)", "value": "Value", "key": "Key"}


def column_label(name: str) -> str:
    """The words and unit of a tidy column name.

    Parameters
    ----------
    name : str
        A CSV column name (``ai_it_mw``, ``net_usd``, ``mining.hashprice_usd_per_ph_day``).

    Returns
    -------
    str
        ``"AI IT MW"``, ``"Net (USD)"``, ``"mining: Hashprice (USD/PH-day)"``; MW quantities end in
        ``MW`` (``AI IT MW``, ``Mining grid MW``), other units stand in brackets.
    """
    text = str(name)
    prefix = ""
    if "." in text:
        head, text = text.rsplit(".", 1)
        prefix = head.replace("_", " ") + ": "
    if text in SPECIAL:
        return prefix + SPECIAL[text]
    unit = ""
    if (text.endswith("_mw") and "_per_" not in text) or text == "mw":
        return prefix + _words(text.removesuffix("_mw").removesuffix("mw")).strip() + " MW" if text != "mw" \
            else prefix + "MW"
    for suffix, shown in UNITS:
        if text.endswith(suffix) and len(text) > len(suffix):
            text, unit = text[: -len(suffix)], shown
            break
    words = _words(text)
    return prefix + (f"{words} ({unit})" if unit else words)


def value_unit(name: str) -> str:
    """The unit of a column or parameter name as shown (``"USD/MWh"``, ``"MW"``, ``""`` when none)."""
    text = str(name).rsplit(".", 1)[-1]
    if text.endswith("_mw") and "_per_" not in text:
        return "MW"
    for suffix, shown in UNITS:
        if text.endswith(suffix):
            return shown
    return {"usd": "USD", "btc_price_usd": "USD"}.get(text, "")


def _words(text: str) -> str:
    parts = [p for p in text.split("_") if p]
    out = [ACRONYMS.get(p, p) for p in parts]
    if out and out[0][:1].islower():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)
