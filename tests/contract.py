"""The suite's OpenAPI document as a contract: every JSON body a test receives is validated against the
schema the document gives for its path, method and status, so /docs can never under-report a field."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from jsonschema import Draft202012Validator


class ContractError(AssertionError):
    """A response that does not match the documented model of its route."""


class Contract:
    """Paths, operations and response schemas of one OpenAPI document."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for template in document.get("paths", {}):
            # A path parameter at the end takes the rest of the path (symbols may hold a slash).
            pattern = re.sub(r"\\\{[^}]+\\\}$", ".+", re.sub(r"\\\{[^}]+\\\}(?!$)", "[^/]+", re.escape(template)))
            self._routes.append((re.compile(f"^{pattern}$"), template))
        # Exact paths before templated ones, longest template first.
        self._routes.sort(key=lambda item: ("{" in item[1], -len(item[1])))
        self._validators: dict[tuple[str, str, str], Draft202012Validator] = {}

    @classmethod
    def of(cls, base_url: str) -> "Contract":
        """The document a running server publishes at /openapi.json."""
        response = httpx.get(f"{base_url}/openapi.json", timeout=30)
        response.raise_for_status()
        return cls(response.json())

    def template(self, path: str) -> str | None:
        """The documented path template a request path falls under."""
        return next((template for pattern, template in self._routes if pattern.match(path)), None)

    def _validator(self, template: str, method: str, status: str) -> Draft202012Validator | None:
        key = (template, method, status)
        if key not in self._validators:
            operation = self.document["paths"][template][method]
            answer = operation["responses"].get(status) or operation["responses"].get("default")
            if answer is None:
                raise ContractError(f"{method.upper()} {template} answered {status}, which its document does not list")
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            self._validators[key] = None if schema is None else Draft202012Validator(
                {**schema, "components": self.document.get("components", {})})
        return self._validators[key]

    def check(self, response: httpx.Response) -> None:
        """Raise ContractError when a documented route's answer is not what its document says."""
        request = response.request
        template = self.template(request.url.path)
        method = request.method.lower()
        if template is None or method not in self.document["paths"][template]:
            return  # not a documented operation (docs assets, metrics, a wrong method)
        response.read()
        validator = self._validator(template, method, str(response.status_code))
        if validator is None:
            return
        if not response.headers.get("content-type", "").startswith("application/json"):
            raise ContractError(f"{request.method} {request.url} answered {response.headers.get('content-type')!r}")
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.absolute_path))
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}"
                              for e in errors[:5])
            raise ContractError(f"{request.method} {request.url} ({response.status_code}) does not match "
                                f"{template}: {shown}")

    @contextmanager
    def client(self, base_url: str, **options: Any) -> Iterator[httpx.Client]:
        """An httpx client whose every answer is checked."""
        with httpx.Client(base_url=base_url, timeout=30, event_hooks={"response": [self.check]},
                          **options) as client:
            yield client
