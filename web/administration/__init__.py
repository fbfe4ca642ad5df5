"""The admin pages of the web interface: domain policy, instance settings, the job queue and delivery health,
the audit log. Each page calls the same moderation actions and storage queries as the CLI and the admin API;
`routes` lists them all for the composition root."""

from web.administration import audit, domains, jobs, rules, settings

routes = [*domains.routes, *settings.routes, *rules.routes, *audit.routes, *jobs.routes]

__all__ = ["routes"]
