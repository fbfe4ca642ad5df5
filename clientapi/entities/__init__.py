"""Converters from stored rows to Mastodon API entities (plain dicts ready for JSON)."""
