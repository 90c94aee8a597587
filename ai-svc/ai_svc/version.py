"""The version of ai-svc, in its answers and its OpenAPI document."""

VERSION = "0.2.0"
