"""Address checks against the standards' own test vectors: EIP-55, BIP-173 (bech32), BIP-350 (bech32m)."""

import pytest

from dm_shared.errors import InvalidAddressError

from chain_svc.domain.addresses import normalize, to_checksum
from chain_svc.domain.chains import CHAINS
from chain_svc.domain.keccak import keccak256

ETHEREUM, BITCOIN = CHAINS["ethereum"], CHAINS["bitcoin"]
# EIP-55's examples (all caps, all lower, normal).
EIP55 = ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
         "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
         "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
         "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]
# Valid mainnet addresses of BIP-173 (segwit v0) and BIP-350 (v1+, bech32m), and base58 ones.
BITCOIN_VALID = ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
                 "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                 "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
                 "BC1SW50QGDZ25J", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
                 "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                 "1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYUB", "3EbSda5tDELTY3hXAgguXanwNuDivqS2ep",
                 "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj"]
# BIP-350's invalid ones on mainnet, and broken base58.
BITCOIN_INVALID = ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 checksum on v1
                   "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
                   "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # invalid padding
                   "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m checksum on v0
                   "bc1gmk9yu",  # empty program
                   "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",  # testnet
                   "1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYUC", "0xde709f2102306220921060314715629080e2fb77"]


def test_keccak256_is_ethereums():
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"\x00" * 200).hex() != keccak256(b"\x00" * 199).hex()  # more than one block of input


@pytest.mark.parametrize("address", EIP55)
def test_eip55_examples_are_valid_and_normalized_to_lower_case(address):
    assert normalize(address, ETHEREUM) == address.lower()
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper():
        assert to_checksum(address) == address


@pytest.mark.parametrize("address", EIP55[4:])
def test_a_changed_case_breaks_the_checksum(address):
    at = max(i for i, c in enumerate(address) if c.isalpha() and i > 1)  # the last letter
    flipped = address[:at] + address[at].swapcase() + address[at + 1:]
    with pytest.raises(InvalidAddressError) as err:
        normalize(flipped, ETHEREUM)
    assert err.value.status == 400 and "checksum" in err.value.message


@pytest.mark.parametrize("address", BITCOIN_VALID)
def test_valid_bitcoin_mainnet_addresses(address):
    assert normalize(address, BITCOIN).lower() == address.lower()


@pytest.mark.parametrize("address", BITCOIN_INVALID)
def test_invalid_bitcoin_addresses(address):
    with pytest.raises(InvalidAddressError):
        normalize(address, BITCOIN)
