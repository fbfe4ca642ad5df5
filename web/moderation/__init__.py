"""The moderation pages of the web interface (`/web/admin…`), for moderators and admins: the index, reports
and accounts. Every action posts a plain form to a route that calls the same `moderation` (and
`registration`) functions the admin API and the CLI call, so each is checked by `moderation.permissions`
and audited the same way."""
