"""The gateway: routes /api/* to the owning service; holds no business logic."""
