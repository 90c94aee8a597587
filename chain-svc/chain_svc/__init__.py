"""chain-svc: address history and whale alerts."""
