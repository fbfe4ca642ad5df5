"""ActivityPub protocol layer: signatures, keys, documents, safe fetching. No database, no web framework."""
