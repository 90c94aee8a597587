"""LOG_LEVEL holds for uvicorn's own lines too: a gateway at WARNING does not write two INFO lines per
websocket client ("[accepted]", "connection open"), 20,000 lines for 10,000 clients."""

import io
import logging
import logging.config

import orjson
import pytest
import uvicorn.config

from dm_shared.logs import configure_logging

NAMES = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx")


@pytest.fixture(autouse=True)
def restored_logging():
    """The test process's logging as it was (pytest's capture handlers included)."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
                    logging.getLogger(name).propagate) for name in NAMES}
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate = handlers, propagate
        logger.setLevel(level)


def test_uvicorn_info_lines_follow_log_level(monkeypatch):
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # what uvicorn sets up before the app starts
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("gateway", "WARNING")
    logging.getLogger("uvicorn.error").info("connection open")
    logging.getLogger("uvicorn.error").warning("something a person should see")
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["level"], line["msg"]) for line in lines] == [("warning", "something a person should see")]
    configure_logging("gateway", "INFO")
    logging.getLogger("uvicorn.error").info("connection open")
    assert orjson.loads(stream.getvalue().splitlines()[-1])["msg"] == "connection open"
