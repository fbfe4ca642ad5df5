"""Exports of what Plein holds: one account's personal data (`account_export`). It sits above `outbox`,
whose renderers it reuses to write statuses as ActivityStreams."""
