"""ai-svc's own errors, in the suite's tree (dm_shared.errors)."""

from dm_shared.errors import ApiError, BadRequestError, NotFoundError, UpstreamUnavailableError


class ModelUnavailableError(ApiError):
    code, status, message = "MODEL_UNAVAILABLE", 503, "The requested forecast model is not loaded"


class InsufficientHistoryError(UpstreamUnavailableError):
    code, message = "INSUFFICIENT_HISTORY", "Too few candles for a forecast"


class StoreUnavailableError(UpstreamUnavailableError):
    code, message = "STORE_UNAVAILABLE", "The signal store (MongoDB) is unavailable"


class InsufficientCandlesError(BadRequestError):
    """The candles a request sent are too few for what it asks (400: the body is well-formed, the data short)."""

    code, message = "INSUFFICIENT_CANDLES", "Too few candles for this analysis"


class BadCandlesError(BadRequestError):
    """Candles that cannot be real (a high below its low, a close outside its range)."""

    code, message = "INVALID_CANDLES", "The candles sent are not consistent"


class UnknownStrategyError(BadRequestError):
    code, message = "UNKNOWN_STRATEGY", "No such strategy"


class PredictionNotFoundError(NotFoundError):
    code, message = "PREDICTION_NOT_FOUND", "No signal or analysis has this id"


class FeedbackMismatchError(ApiError):
    """Feedback that names another symbol or signal than the prediction it is about."""

    code, status, message = "FEEDBACK_MISMATCH", 409, "The feedback does not match its prediction"
