"""Receiving federation: the shared and personal inboxes, request verification, one handler per activity.

The receive path (`inbox.routes.receive`), in this order; nothing is written before the last step:

1. Personal inbox of no local account → 404.
2. Body at most `limits.max_body_bytes` (1 MiB), refused on `Content-Length` or, without one, while the
   stream is counted → 413 (`plein.limits`, below every route: it answers before step 1).
3. Content type `application/activity+json` or `application/ld+json` → else 415.
4. Domain policy of each signature keyId's host, read from the headers without verifying anything: a
   suspended host, one missing from the allow-list (allow-list mode), our own origin, or a forbidden
   address literal → 403, and nothing is fetched (`inbox.policy.check_key_host`).
5. A `Delete` signed by a key we never stored, from an actor we never stored → 202 with no fetch: there
   is nothing to delete and the key is most likely gone with its actor.
6. HTTP signature (`apub.httpsig.verify_request` with the storage-bound `webfinger.keys.StorageKeyLookup`,
   which persists keys in `remote_keys`): no signature → 401, malformed or not covering
   request-target/host/date/digest → 400, bad signature, stale or future date, digest missing or wrong →
   401, key unavailable → 503 (the sender retries). Embedded LD signatures and `proof`s are ignored.
7. JSON object, nested at most 32 deep, with an http(s) `id`, a `type` and an `actor` → else 400.
8. The signer must be the `actor`. If not (a relay, or a forgery), the activity is fetched from its origin
   by `id` (signed by our instance actor) and the served copy is used; if it cannot be fetched → 401.
9. The actor's host passes the domain policy (403); the activity's claims are checked
   (`inbox.checks.check_activity`): ids on the actor's origin and status objects attributed to the actor
   (400 / 403), Update/Delete only of the actor's own statuses, Accept/Reject only from the followee,
   Move and actor Update only of the actor itself (403).
10. One durable job on the `inbox` queue, deduplicated by activity id (a replay is a no-op) → 202.

The worker (`inbox.worker.inbox_job_handler`) resolves the actor and runs the activity's handler
(`inbox.handlers.HANDLERS`), which writes its rows, fan-out rows and notifications in one transaction;
events are published after commit. Replies such as `Accept` are stored in `activities` and queued on the
`deliver` queue; this package never sends HTTP itself.
"""
