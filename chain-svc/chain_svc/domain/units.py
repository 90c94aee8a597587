"""Exact amounts: integer base units (wei, satoshis) into the coin with Decimal, never through float."""

from decimal import Decimal, localcontext

GWEI = 9


def to_coin(base_units: int | str, decimals: int) -> Decimal:
    """`base_units` (wei, satoshis, a token's smallest unit) in the coin, exactly."""
    with localcontext() as context:
        context.prec = 100  # wide enough for any uint256 at any number of decimals
        return Decimal(int(base_units)).scaleb(-decimals).normalize(context)


def to_gwei(wei: int | str) -> Decimal:
    """A gas price in wei as gwei, exactly."""
    return to_coin(wei, GWEI)


def plain(amount: Decimal) -> str:
    """The exact decimal as text without exponent (1E+3 is written 1000)."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
