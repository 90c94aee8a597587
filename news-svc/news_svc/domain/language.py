"""Language of a text, when its source does not say (py3langid, a compact offline n-gram model), chosen
among the languages crypto news is published in: on a short headline, an unrestricted model too often
answers a language nobody writes crypto news in."""

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = ["en", "es", "pt", "fr", "de", "it", "nl", "ru", "uk", "tr", "pl", "cs", "ro", "vi", "id", "zh",
             "ja", "ko", "ar", "fa", "hi", "th", "sv"]


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(LANGUAGES)
    return identifier


def detect(text: str) -> str:
    """ISO 639-1 code of the most likely language of `text`."""
    language, _ = _identifier().classify(text)
    return language
