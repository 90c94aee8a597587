"""ai-svc's own errors, in the suite's tree (dm_shared.errors)."""

from dm_shared.errors import ApiError, UpstreamUnavailableError


class ModelUnavailableError(ApiError):
    code, status, message = "MODEL_UNAVAILABLE", 503, "The requested forecast model is not loaded"


class InsufficientHistoryError(UpstreamUnavailableError):
    code, message = "INSUFFICIENT_HISTORY", "Too few candles for a forecast"


class StoreUnavailableError(UpstreamUnavailableError):
    code, message = "STORE_UNAVAILABLE", "The signal store (MongoDB) is unavailable"
