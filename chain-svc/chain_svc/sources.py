"""Every upstream chain-svc reads, opened once per process with its guard and its share of the budget."""

from dm_shared.budget import Budget, Limit
from dm_shared.guard import guards, secret_value
from dm_shared.names import Provider
from dm_shared.upstream import UpstreamClient

from chain_svc.adapters.esplora import EsploraAdapter
from chain_svc.adapters.etherscan import EtherscanAdapter
from chain_svc.adapters.market import MarketPrices
from chain_svc.adapters.whale_alert import WhaleAlertAdapter
from chain_svc.settings import ChainSettings

ETHERSCAN_KEY = "CHAIN_ETHERSCAN_API_KEY"
# Published free-plan allowances, calls per minute: Etherscan 3/s, Routescan 2/s, Whale Alert 10/min;
# mempool.space and Blockstream publish none, so a polite 60/min.
LIMITS = {Provider.ETHERSCAN: 180.0, Provider.ROUTESCAN: 120.0, Provider.MEMPOOL: 60.0, Provider.ESPLORA: 60.0,
          Provider.WHALE_ALERT: 10.0}


class Sources:
    """The adapters: EVM explorers (Etherscan, then the fallback), Bitcoin (mempool.space, then Esplora),
    Whale Alert, and market-svc's prices."""

    def __init__(self, settings: ChainSettings, client: UpstreamClient, budget: Budget | None = None):
        timeout = settings.upstream_timeout

        guard = guards(budget, threshold=settings.breaker_threshold, cooldown=settings.breaker_cooldown)

        self.etherscan = EtherscanAdapter(client, guard=guard(Provider.ETHERSCAN), url=settings.etherscan_url,
                                          api_key=secret_value(settings.etherscan_api_key), needs_key=True,
                                          key_setting=ETHERSCAN_KEY, timeout=timeout)
        self.evm_fallback = EtherscanAdapter(client, guard=guard(settings.evm_fallback_name),
                                             url=settings.evm_fallback_url,
                                             api_key=secret_value(settings.evm_fallback_api_key), needs_key=False,
                                             key_setting="CHAIN_EVM_FALLBACK_API_KEY", timeout=timeout)
        self.mempool = EsploraAdapter(client, guard=guard(Provider.MEMPOOL), base_url=settings.mempool_url,
                                      timeout=timeout)
        self.esplora = EsploraAdapter(client, guard=guard(Provider.ESPLORA), base_url=settings.esplora_url,
                                      timeout=timeout)
        self.whale_alert = WhaleAlertAdapter(client, guard=guard(Provider.WHALE_ALERT),
                                             base_url=settings.whale_alert_url,
                                             api_key=secret_value(settings.whale_alert_api_key), timeout=timeout)
        self.market = MarketPrices(client, guard=guard("market-svc"), base_url=settings.market_url, timeout=timeout,
                                   ttl=settings.price_ttl_seconds)
        if budget is not None:
            limits = {**LIMITS, settings.evm_fallback_name: LIMITS[Provider.ROUTESCAN]}
            for name, per_minute in {**limits, **settings.budgets}.items():
                budget.meter(name, Limit(per_minute))

    @property
    def evm(self) -> list[EtherscanAdapter]:
        """EVM explorers in order."""
        return [self.etherscan, self.evm_fallback]

    @property
    def bitcoin(self) -> list[EsploraAdapter]:
        """Bitcoin explorers in order."""
        return [self.mempool, self.esplora]

    @property
    def adapters(self) -> list:
        """Every adapter, for /health."""
        return [*self.evm, *self.bitcoin, self.whale_alert, self.market]

    async def close(self) -> None:
        for adapter in self.adapters:
            await adapter.close()
