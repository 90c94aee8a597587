"""Recorded explorer payloads through the adapters' mapping, with no server: Etherscan's error answers
(HTTP 200, status "0") become the suite's errors, rows become exact transactions, blocks become alerts."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from dm_shared.errors import (
    UpstreamBadResponseError,
    UpstreamPlanError,
    UpstreamRateLimitedError,
    UpstreamRefusedError,
    UpstreamUnavailableError,
)

from chain_svc.adapters.esplora import to_block_transfer as esplora_block_transfer
from chain_svc.adapters.esplora import to_transaction as esplora_transaction
from chain_svc.adapters.etherscan import check_answer, to_block, to_token_transfer, to_transaction
from chain_svc.adapters.whale_alert import to_alert
from chain_svc.domain.chains import CHAINS
from chain_svc.domain.labels import Labels, Owner, default_labels
from chain_svc.domain.whales import classify
from chain_svc.service.detector import alerts_of

DATA = Path(__file__).resolve().parents[3] / "sandbox" / "data"


def recorded(name: str):
    return json.loads((DATA / name).read_text())


ERRORS = recorded("etherscan/errors_docs_example.json")


@pytest.mark.parametrize("body, error", [
    (ERRORS["rate_limited"], UpstreamRateLimitedError),
    (recorded("etherscan/v2_account_txlist_chainid56_bsc_NOTOK_free_tier.json"), UpstreamPlanError),
    (recorded("etherscan/v2_proxy_eth_getBlockByNumber_chainid56_NOTOK_temporarily_unavailable.json"),
     UpstreamUnavailableError),
    (ERRORS["invalid_api_key"], UpstreamRefusedError),
    (ERRORS["unsupported_chain"], UpstreamRefusedError),
    (["not", "an", "object"], UpstreamBadResponseError),
], ids=["rate-limit", "bsc-free-tier", "temporarily-unavailable", "invalid-key", "unsupported-chain", "not-object"])
def test_etherscan_error_answers_become_the_suites_errors(body, error):
    with pytest.raises(error) as raised:
        check_answer("etherscan", body)
    assert type(raised.value) is error
    if error is UpstreamRateLimitedError:
        assert raised.value.retry_after == 1.0  # Etherscan's limit is per second: pause that long, not a minute


@pytest.mark.parametrize("name", ["etherscan/v2_account_txlist_no_transactions_found.json",
                                  "etherscan/v2_account_txlist_chainid1_136txs.json",
                                  "etherscan/v2_proxy_eth_blockNumber_chainid1.json"])
def test_answers_that_are_not_errors_pass(name):
    check_answer("etherscan", recorded(name))


def test_txlist_rows_are_exact_in_eth_and_gwei():
    rows = recorded("etherscan/v2_account_txlist_chainid1_136txs.json")["result"]
    address = "0xa1e4380a3b1f749673e270229993ee55f35663b4"
    txs = [to_transaction(row, CHAINS["ethereum"], address) for row in rows]
    genesis = txs[0]
    assert genesis.value_exact == "2000" and genesis.direction == "in" and genesis.sender == "GENESIS"
    tiny = txs[1]  # 31,337 wei at a gas price of 50,000 gwei
    assert tiny.value_exact == "0.000000000000031337" and tiny.gas_price == 50000.0 and tiny.direction == "out"
    assert tiny.fee == float(Decimal(21000 * 50000000000000) / Decimal(10) ** 18)
    assert [t.status for t in txs].count("failed") == sum(r["isError"] == "1" for r in rows)


def test_tokentx_rows_use_the_tokens_decimals():
    row = recorded("etherscan/v2_account_tokentx_chainid1_5txs.json")["result"][0]
    transfer = to_token_transfer(row, CHAINS["ethereum"], row["to"])
    assert transfer.token == "USDC" and transfer.token_decimals == 6 and transfer.value_exact == "49.673249"
    assert transfer.kind == "token" and transfer.direction == "in"


def test_a_recorded_block_has_its_25_transactions_in_wei():
    block = to_block(recorded("etherscan/v2_proxy_eth_getBlockByNumber_fulltx_chainid1.json")["result"])
    assert block.number == 9211896 and len(block.transfers) == 25 and block.timestamp == 0x5E101F6D * 1000
    assert sum(t.units for t in block.transfers) == sum(int(t["value"], 16) for t in recorded(
        "etherscan/v2_proxy_eth_getBlockByNumber_fulltx_chainid1.json")["result"]["transactions"])


def test_only_transfers_above_the_threshold_become_alerts_typed_by_their_labels():
    block = to_block(recorded("etherscan/v2_proxy_eth_getBlockByNumber_fulltx_chainid1.json")["result"])
    price = Decimal("200")  # 11.9151 ETH, the block's largest transfer, is worth 2,383.02 USD
    labels = Labels([{"chain": "ethereum", "address": block.transfers[4].to, "owner": "Kraken",
                      "owner_type": "exchange"}])
    alerts = alerts_of(block, CHAINS["ethereum"], price=price, min_usd=Decimal("2000"), labels=labels)
    assert [a.hash for a in alerts] == [block.transfers[4].hash]
    assert alerts[0].usd_value == 2383.02 and alerts[0].type == "exchange_inflow" and alerts[0].to_owner == "Kraken"
    assert alerts_of(block, CHAINS["ethereum"], price=price, min_usd=Decimal("2383.03"), labels=labels) == []


def test_esplora_transactions_are_read_from_the_address_side():
    rows = recorded("esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json")
    address = "bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2"
    sent, received = (esplora_transaction(tx, CHAINS["bitcoin"], address) for tx in rows)
    assert sent.direction == "out" and sent.value_exact == "0.00263216" and sent.status == "success"
    assert received.direction == "in" and received.to == address
    pending = esplora_transaction(recorded("mempool/api_tx_unconfirmed.json"), CHAINS["bitcoin"],
                                  "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj")
    assert pending.status == "pending" and pending.timestamp is None and pending.block is None


def test_whale_alert_transactions_keep_their_owners():
    rows = recorded("whale_alert/v1_transactions.json")["transactions"]
    internal = to_alert(rows[0])
    assert internal.type == "exchange_internal" and internal.from_owner == internal.to_owner == "binance"
    assert internal.from_address == "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be" and internal.usd_value == 1794742.9
    unknown = to_alert(rows[1])
    assert unknown.type == "transfer" and unknown.from_owner is None and unknown.sender.endswith("(Unknown Wallet)")


@pytest.mark.parametrize("sender, to, owners, expected", [
    ("0x0000000000000000000000000000000000000000", "0x1", (None, None), "mint"),
    ("0x1", "0x000000000000000000000000000000000000dEaD", (None, None), "burn"),
    ("0x1", "0x2", (Owner("Binance", "exchange"), None), "exchange_outflow"),
    ("0x1", "0x2", (None, Owner("Kraken", "exchange")), "exchange_inflow"),
    ("0x1", "0x2", (Owner("Kraken", "exchange"), Owner("Kraken", "exchange")), "exchange_internal"),
    ("0x1", "0x2", (Owner("Kraken", "exchange"), Owner("Binance", "exchange")), "transfer"),
    ("0x1", "0x2", (Owner("sygnia.io", "other"), None), "transfer"),
])
def test_alert_types(sender, to, owners, expected):
    assert classify(sender, to, *owners) == expected


def test_every_shipped_label_names_its_source():
    rows = json.loads((Path(__file__).resolve().parents[3] / "chain-svc" / "chain_svc" / "data" / "labels.json")
                      .read_text())["labels"]
    assert rows and all(row["source"] for row in rows)
    assert default_labels().owner("ethereum", "0x3F5CE5FBFE3E9AF3971DD833D26BA9B5C936F0BE") == Owner("Binance",
                                                                                                        "exchange")


def test_a_bitcoin_transaction_is_a_transfer_of_what_it_paid_away():
    rows = recorded("esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json")
    paid = esplora_block_transfer(rows[0])  # three inputs, two outputs to other addresses
    assert paid.sender == "bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2" and paid.units == 2920 + 442557
    assert paid.to == "bc1q93qyum5uf5pjyeaznfs8f3wmjveudn9wpjw5xr8dve33vgea3shs9jhvww"  # the larger output
    to_itself = esplora_block_transfer(recorded("mempool/api_tx_unconfirmed.json"))  # pays its own input back
    assert to_itself.units == 0 and to_itself.to is None
