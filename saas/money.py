"""Money in one place: amounts are `Decimal` with two decimals, currencies are ISO 4217 codes.

Every service that takes an amount or a currency checks it here, so that a rule (how many
decimals, which codes) cannot differ between domains. Amounts are never floats: the GraphQL
`Decimal` scalar reads and writes them as strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
# NUMERIC(14, 2): twelve digits before the point, two after.
MAX_AMOUNT = Decimal("999999999999.99")

# ISO 4217 active codes (2024 list), funds and precious metals left out.
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)


def parse_currency(value: Any) -> str:
    """An ISO 4217 code (any case in, upper case out); ValueError otherwise."""
    code = str(value or "").strip().upper()
    if code not in ISO_4217:
        raise ValueError("must be an ISO 4217 currency code such as EUR")
    return code


def parse_amount(value: Any, *, positive: bool = False) -> Decimal:
    """An amount of at most two decimals and twelve digits, zero or more (more than zero when
    `positive`), as a Decimal quantized to the cent; ValueError otherwise. Floats are refused:
    they cannot hold most decimal amounts exactly."""
    if isinstance(value, float | bool):
        raise ValueError('must be a decimal string, e.g. "19.90"')
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("must be a decimal number, e.g. 19.90") from exc
    if not amount.is_finite():
        raise ValueError("must be a decimal number, e.g. 19.90")
    if amount < 0 or (positive and amount == 0):
        raise ValueError("must be more than zero" if positive else "must be zero or more")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    if amount != amount.quantize(CENT):
        raise ValueError("must have at most two decimals")
    return amount.quantize(CENT)
