"""Code every Dreammaker service shares, kept once."""
