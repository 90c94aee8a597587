"""Local stand-in for the upstream crypto APIs, serving recorded payloads and time-shifted history."""
