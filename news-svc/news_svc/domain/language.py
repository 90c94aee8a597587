"""Language of a text, when its source does not say (py3langid, a compact offline n-gram model)."""

import py3langid


def detect(text: str) -> str:
    """ISO 639-1 code of the most likely language of `text`."""
    language, _ = py3langid.classify(text)
    return language
