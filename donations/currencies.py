"""ISO 4217 currency codes and their minor units.

Payment providers send amounts in minor units (cents), so converting needs
each currency's exponent: most have 2, some none (JPY, CLP, PYG…), a few 3
(KWD, BHD…). Codes are the active ISO 4217 list, without funds, metals and
testing codes, which no donor pays in.
"""

from __future__ import annotations

from decimal import Decimal

_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split())  # noqa: SIM905
_THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())  # noqa: SIM905

ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)


def is_currency(code: str) -> bool:
    return code in ISO_4217


def exponent(code: str) -> int:
    """How many decimal places the currency's minor unit has."""
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def from_minor_units(amount: int, code: str) -> Decimal:
    """``1050, "USD"`` → ``Decimal("10.50")``; ``1050, "JPY"`` → ``Decimal("1050")``."""
    return Decimal(amount).scaleb(-exponent(code))
