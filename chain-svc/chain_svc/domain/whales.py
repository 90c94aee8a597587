"""What makes a transfer a whale alert and what kind it is, from the owners of its two ends."""

from decimal import Decimal

from chain_svc.domain.labels import Owner
from chain_svc.domain.types import AlertType

EXCHANGE = "exchange"
# Ends that stand for "no one": coins that appear (mint) or disappear (burn).
NULL_ADDRESSES = frozenset({"0x0000000000000000000000000000000000000000", "0x000000000000000000000000000000000000dead"})
COINBASE = "coinbase"


def classify(sender: str, receiver: str, from_owner: Owner | None, to_owner: Owner | None) -> AlertType:
    """The alert type: mint and burn by the null ends, else by which ends an exchange owns."""
    if sender.lower() in NULL_ADDRESSES or sender == COINBASE:
        return "mint"
    if receiver.lower() in NULL_ADDRESSES:
        return "burn"
    out = from_owner is not None and from_owner.type == EXCHANGE
    into = to_owner is not None and to_owner.type == EXCHANGE
    if out and into:
        return "exchange_internal" if from_owner.name == to_owner.name else "transfer"
    if out:
        return "exchange_outflow"
    if into:
        return "exchange_inflow"
    return "transfer"


def labelled(address: str, owner: Owner | None) -> str:
    """`0x... (Binance)`, as in spec 002's example; `(Unknown Wallet)` when the owner is not known."""
    return f"{address} ({owner.name if owner else 'Unknown Wallet'})"


def usd(amount: Decimal, price: Decimal) -> Decimal:
    """The USD value of `amount` at `price`, to the cent."""
    return (amount * price).quantize(Decimal("0.01"))
