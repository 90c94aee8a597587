"""An alert as the bus message every consumer (the gateway's whales channel, other services) reads."""

from dm_shared import messages

from chain_svc.domain.types import WhaleAlert


def to_message(alert: WhaleAlert) -> messages.WhaleAlert:
    """The alert's bus message: the same fields, the type as `transfer_type`."""
    return messages.WhaleAlert(
        id=alert.id, chain=alert.chain, hash=alert.hash, timestamp=alert.timestamp, sender=alert.sender,
        receiver=alert.to, from_address=alert.from_address, to_address=alert.to_address,
        from_owner=alert.from_owner, to_owner=alert.to_owner, amount=alert.amount, token=alert.token,
        usd_value=alert.usd_value, price_usd=alert.price_usd or 0.0, transfer_type=alert.type, block=alert.block,
        source=alert.source)
