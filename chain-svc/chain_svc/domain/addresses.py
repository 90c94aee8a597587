"""Address checks before any upstream call: EIP-55 for EVM addresses, base58check (P2PKH, P2SH) and
bech32/bech32m (BIP-173, BIP-350) for Bitcoin mainnet. A malformed address is INVALID_ADDRESS (400)."""

import hashlib
import re

from dm_shared.errors import InvalidAddressError

from chain_svc.domain.chains import CHAINS, Chain
from chain_svc.domain.keccak import keccak256

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3
# Mainnet version bytes of base58check addresses: P2PKH (1...) and P2SH (3...).
_BASE58_VERSIONS = {0x00: "p2pkh", 0x05: "p2sh"}


def to_checksum(address: str) -> str:
    """The EIP-55 mixed-case form of a 0x address."""
    lower = address[2:].lower()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower, digest[:40], strict=True))


def _evm(address: str) -> str:
    if not _HEX_ADDRESS.match(address):
        raise ValueError("an EVM address is 0x followed by 40 hexadecimal digits")
    digits = address[2:]
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and to_checksum(address) != address:
        raise ValueError("the EIP-55 checksum (the mix of upper and lower case) is wrong")
    return address.lower()


def _base58check(address: str) -> bytes:
    number = 0
    for char in address:
        position = _BASE58.find(char)
        if position < 0:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + position
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(address) - len(address.lstrip("1"))) + raw
    payload, checksum = raw[:-4], raw[-4:]
    if len(raw) < 5 or hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        raise ValueError("the base58check checksum is wrong")
    return payload


def _bech32_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> list[int]:
    accumulator, bits, out = 0, 0, []
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & ((1 << to_bits) - 1))
    if bits >= from_bits or (accumulator << (to_bits - bits)) & ((1 << to_bits) - 1):
        raise ValueError("the bech32 data has invalid padding")
    return out


def _segwit(address: str) -> None:
    if address != address.lower() and address != address.upper():
        raise ValueError("a bech32 address is all lower case or all upper case")
    address = address.lower()
    hrp, _, data_part = address.rpartition("1")
    if hrp != "bc":
        raise ValueError("a Bitcoin mainnet segwit address starts with bc1")
    if len(address) > 90 or len(data_part) < 7 or any(c not in _BECH32 for c in data_part):
        raise ValueError("not a bech32 string")
    data = [_BECH32.find(c) for c in data_part]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    constant = _bech32_polymod(expanded + data)
    version = data[0]
    if constant != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        raise ValueError("the bech32 checksum is wrong (bech32 for version 0, bech32m for later versions)")
    program = _convert_bits(data[1:-6], 5, 8)
    if version > 16 or not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise ValueError("not a valid segwit program")


def _bitcoin(address: str) -> str:
    if address[:3].lower() == "bc1":
        _segwit(address)
        return address.lower()
    if not 25 <= len(address) <= 35:
        raise ValueError("a base58 Bitcoin address has 25 to 35 characters")
    payload = _base58check(address)
    if len(payload) != 21 or payload[0] not in _BASE58_VERSIONS:
        raise ValueError("not a Bitcoin mainnet P2PKH (1...) or P2SH (3...) address")
    return address


def looks_evm(address: str) -> bool:
    """Whether the address is written the EVM way (0x...), to pick a chain when none is given."""
    return address[:2].lower() == "0x"


def normalize(address: str, chain: Chain) -> str:
    """The address in the form the chain's explorers take (EVM: lower case), or INVALID_ADDRESS."""
    try:
        return _evm(address) if chain.family == "evm" else _bitcoin(address)
    except ValueError as exc:
        other = "evm" if chain.family == "bitcoin" else "bitcoin"
        form = next((c.name for c in CHAINS.values() if c.family == other and _valid(address, c)), None)
        hint = f"; it is a valid {form} address" if form else ""
        raise InvalidAddressError(f"{address[:100]!r} is not a valid {chain.name} address: {exc}{hint}",
                                  details={"address": address[:100], "chain": chain.name, "reason": str(exc)}) from None


def _valid(address: str, chain: Chain) -> bool:
    try:
        _evm(address) if chain.family == "evm" else _bitcoin(address)
    except ValueError:
        return False
    return True
