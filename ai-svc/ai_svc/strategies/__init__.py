"""Trading strategies as code: each reads the indicators and takes a stance at every candle, from -1 (fully
short) to 1 (fully long); what a strategy is worth on a symbol is measured by walking its stances forward
over the candles (`backtest`)."""

from ai_svc.strategies.rules import STRATEGIES, Strategy, by_name, named

__all__ = ["STRATEGIES", "Strategy", "by_name", "named"]
