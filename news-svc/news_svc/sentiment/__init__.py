"""Sentiment scoring. Models are never downloaded: the hub is offline for this process before transformers
is imported (and every load also passes `local_files_only`)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
