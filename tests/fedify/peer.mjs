// The Fedify test peer shared by ../fedify (Fedify 1.5.9, Node.js 20) and ../fedify2 (Fedify 2, Node.js 22):
// each one's server.mjs imports its own Fedify and hands it to runPeer(). This module has no package imports,
// so it runs against whichever Fedify it is given. Actors: `alice`, and `alicia`, her new account
// for moves (`alsoKnownAs` alice); everything lives in memory;
// `/_test/*` is a JSON control API for the tests.
//
// Options: `authorizedFetch` makes alice's actor document and notes answer signed GETs only, and makes her
// fetch keys and look objects up signed (so signatures are exercised on fetches both ways).
import http from "node:http";

export async function runPeer(api, { authorizedFetch = false } = {}) {
  const {
    Accept, Announce, Collection, Create, Delete, Endpoints, Follow, Group, Like, Mention, MemoryKvStore, Move, Note,
    PUBLIC_COLLECTION, Person, Question, Temporal, Undo, Update, createFederation, generateCryptoKeyPair, isActor,
  } = api;
  // Quote posts (FEP-044f) exist in Fedify 2's vocabulary only; the 1.5 peer goes without them.
  const { InteractionPolicy, InteractionRule, QuoteAuthorization, QuoteRequest } = api;
  // Natural-language values in several languages (`contentMap`): Fedify's LanguageString.
  const { LanguageString } = api;
  // Lemmy's activities (Page, Lock, Dislike …) as raw JSON, signed by hand as the group (POST /_test/group/relay).
  const { signRequest } = api;
  const quotes = QuoteRequest != null && QuoteAuthorization != null && InteractionPolicy != null;

  const HOST = process.env.HOST ?? "127.0.0.1";
  const USERNAME = "alice";
  // alice's new account: it lists alice in `alsoKnownAs`, so alice may move to it (POST /_test/move).
  const NEW_USERNAME = "alicia";
  // A working group as Lemmy and Friendica run one (FEP-1b12): anyone may follow (join) it, and it announces
  // what its members address to it (`Announce` of their `Create`) to all its members. Its `attributedTo` is
  // its moderators' collection (alice moderates it), and it announces a moderator's `Delete` of a post as
  // Lemmy does (POST /_test/group/moderate).
  const GROUP = "club";
  const GROUP_MODERATORS = [USERNAME];

  // Keys are made once per process: Fedify signs deliveries with the RSA key (draft-cavage HTTP
  // Signatures) and adds an Object Integrity Proof with the Ed25519 key, as it does by default.
  const keyPairs = [
    await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
    await generateCryptoKeyPair("Ed25519"),
  ];
  const received = []; // activities that reached alice's inbox, as recorded by recordActivity()
  const followers = new Map(); // follower actor URI -> Recipient ({ id, inboxId, endpoints })
  const newFollowers = new Map(); // the same for alicia
  const groupMembers = new Map(); // the same for the group `club`
  const groupAnnounces = []; // what the group announced: { id, create_id, object_id, delivered_to }
  const following = new Map(); // actor URI alice follows -> her Follow
  let movedTo = null; // alicia's URI once alice moved
  const notes = new Map(); // note id (path segment) -> Note
  const questions = new Map(); // question id (path segment) -> Question (a poll of alice's)
  const stamps = new Map(); // stamp id (path segment) -> QuoteAuthorization alice granted
  const sent = []; // activities alice sent, newest last (served by her outbox)
  const errors = []; // delivery/listener failures, so tests can explain themselves
  const requests = []; // every request outside /_test/, both ways: { direction, method, url, scheme, status }
  const deletedActors = new Set(); // actors whose own Delete reached alice: she forgot them
  const served = new Map(); // path -> raw JSON document a test put there (Lemmy's Pages and comments)

  function buildFederation(origin) {
    const federation = createFederation({
      kv: new MemoryKvStore(),
      origin,
      allowPrivateAddress: true, // the peers all live on 127.0.0.1
      skipSignatureVerification: false, // this peer exists to check signatures: never skip them
      onOutboxError: (error) => logError("outbox", error),
    });

    federation
      .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
        if (identifier === GROUP) return await groupActor(ctx);
        if (identifier !== USERNAME && identifier !== NEW_USERNAME) return null;
        const actorKeys = await ctx.getActorKeyPairs(identifier);
        const moves = identifier === NEW_USERNAME
          ? { aliases: [ctx.getActorUri(USERNAME)] }
          : movedTo ? { successor: movedTo } : {};
        return new Person({
          id: ctx.getActorUri(identifier),
          preferredUsername: identifier,
          name: identifier === USERNAME ? "Alice (Fedify peer)" : "Alicia (alice's new account)",
          ...moves,
          summary: "A Fedify test peer",
          url: ctx.getActorUri(identifier),
          inbox: ctx.getInboxUri(identifier),
          outbox: ctx.getOutboxUri(identifier),
          followers: ctx.getFollowersUri(identifier),
          endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
          publicKey: actorKeys[0].cryptographicKey,
          assertionMethods: actorKeys.map((key) => key.multikey),
        });
      })
      .setKeyPairsDispatcher((_ctx, identifier) => ([USERNAME, NEW_USERNAME, GROUP].includes(identifier) ? keyPairs : []))
      .authorize(signedBySomeone);

    federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) =>
      identifier === USERNAME ? { items: [...followers.values()] }
        : identifier === NEW_USERNAME ? { items: [...newFollowers.values()] }
        : identifier === GROUP ? { items: [...groupMembers.values()] } : null,
    );
    federation.setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) =>
      identifier === USERNAME ? { items: [...sent].reverse() } : null,
    );
    federation
      .setObjectDispatcher(Note, "/users/{identifier}/notes/{noteId}", (_ctx, values) =>
        values.identifier === USERNAME ? notes.get(values.noteId) ?? null : null,
      )
      .authorize(signedBySomeone);

    federation
      .setObjectDispatcher(Question, "/users/{identifier}/questions/{questionId}", (_ctx, values) =>
        values.identifier === USERNAME ? questions.get(values.questionId) ?? null : null,
      )
      .authorize(signedBySomeone);

    if (quotes) {
      federation
        .setObjectDispatcher(QuoteAuthorization, "/users/{identifier}/quote_authorizations/{stampId}", (_ctx, values) =>
          values.identifier === USERNAME ? stamps.get(values.stampId) ?? null : null,
        )
        .authorize(signedBySomeone);
    }

    const inboxListeners = federation
      .setInboxListeners("/users/{identifier}/inbox", "/inbox")
      .on(Follow, onFollow)
      .on(Undo, onUndo)
      .on(Accept, recordActivity)
      .on(Create, onCreate)
      .on(Update, recordActivity)
      .on(Delete, onDelete)
      .on(Like, recordActivity)
      .on(Move, onMove)
      .on(Announce, recordActivity);
    if (quotes) inboxListeners.on(QuoteRequest, onQuoteRequest);
    inboxListeners
      .onError((_ctx, error) => logError("inbox", error));
    if (authorizedFetch) {
      // Keys and objects fetched while receiving are fetched signed by alice (the other side may require it).
      inboxListeners.setSharedKeyDispatcher((_ctx) => ({ identifier: USERNAME }));
    }
    return federation;
  }

  // Authorized fetch: a GET must carry a signature that Fedify verifies (else 401).
  async function signedBySomeone(ctx) {
    return !authorizedFetch || (await ctx.getSignedKey()) != null;
  }

  // Read the fields from the activity's own JSON-LD so that recording never fetches anything remote.
  async function recordActivity(_ctx, activity) {
    const raw = await activity.toJsonLd();
    const object = raw.object;
    const embedded = object !== null && typeof object === "object" ? object : null;
    // What Fedify's own vocabulary makes of a quote post (embedded objects only: nothing is fetched).
    let quote = null;
    if (quotes && embedded && typeof activity.getObject === "function") {
      const parsed = await activity.getObject({ crossOrigin: "ignore" }).catch(() => null);
      if (parsed != null && "quoteId" in parsed) {
        quote = {
          quote: parsed.quoteId?.href ?? null,
          quote_url: parsed.quoteUrl?.href ?? null,
          quote_authorization: parsed.quoteAuthorizationId?.href ?? null,
          can_quote: (parsed.interactionPolicy?.canQuote?.automaticApprovals ?? []).map((url) => url.href),
        };
      }
    }
    // The languages of the object's content as Fedify's vocabulary parsed them (LanguageStrings).
    let contentLanguages = null;
    if (embedded && LanguageString != null && typeof activity.getObject === "function") {
      const parsed = await activity.getObject({ crossOrigin: "ignore" }).catch(() => null);
      if (parsed != null && Array.isArray(parsed.contents)) {
        contentLanguages = Object.fromEntries(
          parsed.contents.filter((value) => value instanceof LanguageString).map((value) => [String(value.language), String(value)]),
        );
      }
    }
    const entry = {
      type: activity.constructor.typeId.href.split("#").pop(),
      content_languages: contentLanguages,
      quote,
      result: activity.resultId?.href ?? null,
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      object_id: activity.objectId?.href ?? null,
      object_type: embedded ? embedded.type ?? null : null,
      content: embedded && typeof embedded.content === "string" ? embedded.content : null,
      raw,
    };
    received.push(entry);
    return entry;
  }

  async function onFollow(ctx, follow) {
    await recordActivity(ctx, follow);
    const followed = [USERNAME, NEW_USERNAME, GROUP].find((name) => follow.objectId?.href === ctx.getActorUri(name).href);
    if (follow.id == null || followed == null) return;
    const follower = await follow.getActor(ctx);
    if (follower == null || follower.id == null || follower.inboxId == null) return;
    ({ [USERNAME]: followers, [NEW_USERNAME]: newFollowers, [GROUP]: groupMembers })[followed].set(follower.id.href, follower);
    const accept = new Accept({
      id: new URL(`#accepts/${crypto.randomUUID()}`, ctx.getActorUri(followed)),
      actor: ctx.getActorUri(followed),
      object: follow,
    });
    // Sent inline (no queue), so by the time the follower's delivery returns, its Accept has arrived.
    try {
      await ctx.sendActivity({ identifier: followed }, follower, accept);
      sent.push(accept);
    } catch (error) {
      logError("accept", error);
    }
  }

  async function onUndo(ctx, undo) {
    await recordActivity(ctx, undo);
    const undone = await undo.getObject().catch(() => null);
    if (undone instanceof Follow && undone.actorId?.href === undo.actorId?.href) {
      (undone.objectId?.href === ctx.getActorUri(GROUP).href ? groupMembers : followers).delete(undo.actorId.href);
    }
  }

  async function groupActor(ctx) {
    const actorKeys = await ctx.getActorKeyPairs(GROUP);
    return new Group({
      id: ctx.getActorUri(GROUP),
      preferredUsername: GROUP,
      name: "Club (a Fedify group)",
      summary: "A FEP-1b12 group on the Fedify test peer",
      url: ctx.getActorUri(GROUP),
      inbox: ctx.getInboxUri(GROUP),
      outbox: ctx.getOutboxUri(GROUP),
      followers: ctx.getFollowersUri(GROUP),
      attribution: moderatorsUri(ctx.getActorUri(GROUP)),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: actorKeys[0].cryptographicKey,
      assertionMethods: actorKeys.map((key) => key.multikey),
    });
  }

  function moderatorsUri(groupUri) {
    return new URL(`${groupUri.pathname}/moderators`, groupUri);
  }

  // The group's moderators as the OrderedCollection its `attributedTo` names (Fedify 1.5 has no dispatcher
  // for a custom collection, so it is served beside the federation, as plain ActivityStreams JSON).
  function moderatorsCollection(origin) {
    const id = `${origin}/users/${GROUP}/moderators`;
    const orderedItems = GROUP_MODERATORS.map((name) => `${origin}/users/${name}`);
    return new Response(
      JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams", id, type: "OrderedCollection",
        totalItems: orderedItems.length, orderedItems,
      }),
      { headers: { "content-type": "application/activity+json" } },
    );
  }

  // The group announces `by`'s Delete of a post to every member, as Lemmy announces a moderator's removal;
  // `by` may be an actor of this peer that moderates nothing (alicia), which makes the Announce a forgery.
  async function announceRemoval(ctx, { object, by = USERNAME }) {
    const group = ctx.getActorUri(GROUP);
    const remover = ctx.getActorUri(by);
    const removal = new Delete({
      id: new URL(`#moderation/${crypto.randomUUID()}`, remover),
      actor: remover,
      object: new URL(object),
      tos: [PUBLIC_COLLECTION],
      ccs: [group],
    });
    const announce = new Announce({
      id: new URL(`#announces/${crypto.randomUUID()}`, group),
      actor: group,
      object: removal,
      tos: [PUBLIC_COLLECTION],
      ccs: [ctx.getFollowersUri(GROUP)],
    });
    const members = [...groupMembers.values()];
    await ctx.sendActivity({ identifier: GROUP }, members, announce);
    sent.push(announce);
    return json({ id: announce.id.href, delete_id: removal.id.href, delivered_to: members.map((m) => m.id.href) });
  }

  // The group relays a raw activity as Lemmy's communities do: `Announce` of it, to every member, signed by
  // the group (draft-cavage, by hand: Fedify's vocabulary has no Lemmy `Lock` or `Page` extensions).
  async function relayAsGroup(ctx, { activity }) {
    const group = ctx.getActorUri(GROUP);
    const announce = {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
      id: `${group.href}#announces/${crypto.randomUUID()}`,
      type: "Announce",
      actor: group.href,
      object: activity,
      to: [PUBLIC_COLLECTION.href],
      cc: [ctx.getFollowersUri(GROUP).href],
    };
    const [key] = await ctx.getActorKeyPairs(GROUP);
    const body = JSON.stringify(announce);
    const statuses = [];
    for (const member of groupMembers.values()) {
      const inbox = member.endpoints?.sharedInbox ?? member.inboxId;
      const request = new Request(inbox, {
        method: "POST", body, headers: { "content-type": "application/activity+json", date: new Date().toUTCString() },
      });
      const response = await fetch(await signRequest(request, key.privateKey, key.keyId));
      statuses.push(response.status);
    }
    sent.push(announce);
    return json({ id: announce.id, statuses });
  }

  // A raw JSON document served at `path` (a Lemmy Page or comment of alice's), replaced by a later put.
  function serveDocument({ path, document }) {
    served.set(path, document);
    return json({ ok: true });
  }

  // Every address of an activity and of the object it carries: to, cc, audience and the mentions' hrefs.
  function addressesOf(raw) {
    const found = new Set();
    const add = (value) => {
      for (const item of Array.isArray(value) ? value : value == null ? [] : [value]) {
        if (typeof item === "string") found.add(item);
        else if (item != null && typeof item === "object") {
          if (typeof item.id === "string") found.add(item.id);
          if (typeof item.href === "string") found.add(item.href);
        }
      }
    };
    for (const thing of [raw, typeof raw.object === "object" ? raw.object : null]) {
      if (thing == null) continue;
      for (const key of ["to", "cc", "audience", "tag"]) add(thing[key]);
    }
    return found;
  }

  // A Create that reaches the shared inbox is alice's to read; one addressed to the group by a member is the
  // group's to announce (FEP-1b12: the Create itself, as Lemmy sends it), to every member.
  async function onCreate(ctx, create) {
    const entry = await recordActivity(ctx, create);
    const group = ctx.getActorUri(GROUP);
    if (!addressesOf(entry.raw).has(group.href) || !groupMembers.has(entry.actor)) return;
    const announce = new Announce({
      id: new URL(`#announces/${crypto.randomUUID()}`, group),
      actor: group,
      object: create,
      tos: [PUBLIC_COLLECTION],
      ccs: [ctx.getFollowersUri(GROUP)],
    });
    const members = [...groupMembers.values()];
    try {
      await ctx.sendActivity({ identifier: GROUP }, members, announce);
      sent.push(announce);
      groupAnnounces.push({
        id: announce.id.href, create_id: entry.id, object_id: entry.object_id,
        delivered_to: members.map((member) => member.id.href),
      });
    } catch (error) {
      logError("group announce", error);
    }
  }

  // Delete of the sender's own actor: alice forgets it (drops it from her followers), as servers do.
  async function onDelete(ctx, del) {
    const entry = await recordActivity(ctx, del);
    if (entry.actor != null && entry.object_id === entry.actor) {
      followers.delete(entry.actor);
      deletedActors.add(entry.actor);
    }
  }

  // Alice approves every quote of her posts at once: a stamp she serves, and Accept with it as `result`.
  async function onQuoteRequest(ctx, request) {
    await recordActivity(ctx, request);
    const requester = await request.getActor(ctx);
    if (requester == null || request.objectId == null || request.instrumentId == null) return;
    const stampId = crypto.randomUUID();
    const alice = ctx.getActorUri(USERNAME);
    const stamp = new QuoteAuthorization({
      id: ctx.getObjectUri(QuoteAuthorization, { identifier: USERNAME, stampId }),
      attribution: alice,
      interactingObject: request.instrumentId,
      interactionTarget: request.objectId,
    });
    stamps.set(stampId, stamp);
    const accept = new Accept({
      id: new URL(`#accepts/${crypto.randomUUID()}`, alice), actor: alice, object: request, result: stamp.id,
      to: requester.id,
    });
    try {
      await ctx.sendActivity({ identifier: USERNAME }, requester, accept);
      sent.push(accept);
    } catch (error) {
      logError("quote accept", error);
    }
  }

  // A quote by alice of someone's post, as Mastodon 4.5 makes one: the Note with `quote` (and Misskey's
  // `quoteUrl`), sent to her followers and the quoted author, and a QuoteRequest to the quoted author.
  async function postQuote(ctx, { target, content }) {
    const quoted = await lookup(ctx, target);
    const quotedAuthor = quoted?.attributionId ? await lookup(ctx, quoted.attributionId.href) : null;
    if (!isActor(quotedAuthor)) return json({ error: `no author for: ${target}` }, 400);
    const noteId = crypto.randomUUID();
    const alice = ctx.getActorUri(USERNAME);
    const audience = { tos: [PUBLIC_COLLECTION], ccs: [ctx.getFollowersUri(USERNAME), quotedAuthor.id] };
    const note = new Note({
      id: ctx.getObjectUri(Note, { identifier: USERNAME, noteId }), attribution: alice, content,
      published: Temporal.Now.instant(), quote: new URL(target), quoteUrl: new URL(target), ...audience,
    });
    notes.set(noteId, note);
    const create = new Create({ id: new URL("#create", note.id), actor: alice, object: note, ...audience });
    const recipients = [...followers.values()];
    if (!followers.has(quotedAuthor.id.href)) recipients.push(quotedAuthor);
    await ctx.sendActivity({ identifier: USERNAME }, recipients, create);
    const request = new QuoteRequest({
      id: new URL(`#quote-requests/${noteId}`, alice), actor: alice, object: new URL(target), instrument: note,
      to: quotedAuthor.id,
    });
    await ctx.sendActivity({ identifier: USERNAME }, quotedAuthor, request);
    sent.push(create, request);
    return json({ id: note.id.href, request_id: request.id.href });
  }

  // What Fedify does on a Move is up to the app; this one does as Mastodon: when alice follows the moving
  // account and the target lists it in `alsoKnownAs`, she unfollows it and follows the target.
  async function onMove(ctx, move) {
    await recordActivity(ctx, move);
    const origin = move.actorId?.href;
    if (origin == null || move.objectId?.href !== origin || move.targetId == null) return;
    const old = following.get(origin);
    if (old == null) return;
    const target = await lookup(ctx, move.targetId.href);
    if (!isActor(target) || !target.aliasIds.some((alias) => alias.href === origin)) {
      logError("move", `${move.targetId.href} does not list ${origin} in alsoKnownAs`);
      return;
    }
    const oldActor = await lookup(ctx, origin);
    const undo = new Undo({
      id: new URL(`#undo-follows/${crypto.randomUUID()}`, ctx.getActorUri(USERNAME)),
      actor: ctx.getActorUri(USERNAME),
      object: old,
    });
    following.delete(origin);
    if (isActor(oldActor)) await ctx.sendActivity({ identifier: USERNAME }, oldActor, undo);
    sent.push(undo);
    await sendFollow(ctx, target);
  }

  function logError(where, error) {
    const message = `${where}: ${error?.stack ?? error}`;
    errors.push(message);
    process.stderr.write(`ERROR ${message}\n`);
  }

  // ---- /_test/ control API -------------------------------------------------------------------------

  // With authorizedFetch, lookups are signed by alice, so they work against servers in authorized-fetch mode.
  async function lookup(ctx, target) {
    if (!authorizedFetch) return await ctx.lookupObject(target);
    return await ctx.lookupObject(target, { documentLoader: await ctx.getDocumentLoader({ identifier: USERNAME }) });
  }

  async function followTarget(ctx, { target }) {
    const actor = await lookup(ctx, target);
    if (!isActor(actor)) return json({ error: `not an actor: ${target}` }, 400);
    const follow = await sendFollow(ctx, actor);
    return json({ id: follow.id.href, object: actor.id.href });
  }

  async function sendFollow(ctx, actor) {
    const follow = new Follow({
      id: new URL(`#follows/${crypto.randomUUID()}`, ctx.getActorUri(USERNAME)),
      actor: ctx.getActorUri(USERNAME),
      object: actor.id,
    });
    await ctx.sendActivity({ identifier: USERNAME }, actor, follow);
    following.set(actor.id.href, follow);
    sent.push(follow);
    return follow;
  }

  // alice moves to alicia (who lists her in alsoKnownAs): Move to her followers, as Mastodon sends it.
  async function moveAway(ctx) {
    const alice = ctx.getActorUri(USERNAME);
    movedTo = ctx.getActorUri(NEW_USERNAME);
    const move = new Move({
      id: new URL(`#moves/${crypto.randomUUID()}`, alice),
      actor: alice,
      object: alice,
      target: movedTo,
      tos: [ctx.getFollowersUri(USERNAME)],
    });
    const recipients = [...followers.values()];
    if (recipients.length > 0) await ctx.sendActivity({ identifier: USERNAME }, recipients, move);
    sent.push(move);
    return json({ id: move.id.href, target: movedTo.href, delivered_to: recipients.map((r) => r.id.href) });
  }

  // `contents` ({language: html}, optional) makes a note in several languages: its `contentMap`.
  async function postNote(ctx, { content, contents = null, to = "followers", mention = null }) {
    const noteId = crypto.randomUUID();
    const alice = ctx.getActorUri(USERNAME);
    const mentioned = mention ? await lookup(ctx, mention) : null;
    if (mention && !isActor(mentioned)) return json({ error: `not an actor: ${mention}` }, 400);
    const audience = to === "public" ? [PUBLIC_COLLECTION] : [ctx.getFollowersUri(USERNAME)];
    const ccs = to === "public" ? [ctx.getFollowersUri(USERNAME)] : [];
    if (mentioned) ccs.push(mentioned.id);
    const note = new Note({
      id: ctx.getObjectUri(Note, { identifier: USERNAME, noteId }),
      attribution: alice,
      ...(contents
        ? { contents: Object.entries(contents).map(([language, html]) => new LanguageString(html, language)) }
        : { content }),
      published: Temporal.Now.instant(),
      tos: audience,
      ccs,
      tags: mentioned ? [new Mention({ href: mentioned.id, name: mention })] : [],
      // Anyone may quote alice's notes, approved automatically (FEP-044f), where the vocabulary has it.
      ...(quotes
        ? { interactionPolicy: new InteractionPolicy({ canQuote: new InteractionRule({ automaticApproval: PUBLIC_COLLECTION }) }) }
        : {}),
    });
    notes.set(noteId, note);
    const create = new Create({
      id: new URL(`#create`, note.id), actor: alice, object: note, tos: audience, ccs, published: note.published,
    });
    const recipients = [...followers.values()];
    if (mentioned && !followers.has(mentioned.id.href)) recipients.push(mentioned);
    if (recipients.length > 0) await ctx.sendActivity({ identifier: USERNAME }, recipients, create);
    sent.push(create);
    return json({ id: note.id.href, activity_id: create.id.href, delivered_to: recipients.map((r) => r.id.href) });
  }

  // A poll of alice's, as Mastodon federates one: a Question with its options as named Notes.
  async function postQuestion(ctx, { content, options, multiple = false, seconds = 3600 }) {
    const questionId = crypto.randomUUID();
    const alice = ctx.getActorUri(USERNAME);
    const choices = options.map((name) => new Note({ name, replies: new Collection({ totalItems: 0 }) }));
    const published = Temporal.Now.instant();
    const audience = { tos: [PUBLIC_COLLECTION], ccs: [ctx.getFollowersUri(USERNAME)] };
    const question = new Question({
      id: ctx.getObjectUri(Question, { identifier: USERNAME, questionId }),
      attribution: alice,
      content,
      published,
      endTime: published.add({ seconds }),
      voters: 0,
      ...audience,
      ...(multiple ? { inclusiveOptions: choices } : { exclusiveOptions: choices }),
    });
    questions.set(questionId, question);
    const create = new Create({ id: new URL("#create", question.id), actor: alice, object: question, published, ...audience });
    const recipients = [...followers.values()];
    if (recipients.length > 0) await ctx.sendActivity({ identifier: USERNAME }, recipients, create);
    sent.push(create);
    return json({ id: question.id.href, delivered_to: recipients.map((r) => r.id.href) });
  }

  // A vote on someone's poll, as Mastodon sends it: Create(Note) with the option's name, to the poll's author.
  async function vote(ctx, { question, author, choice }) {
    const pollAuthor = await lookup(ctx, author);
    if (!isActor(pollAuthor)) return json({ error: `not an actor: ${author}` }, 400);
    const alice = ctx.getActorUri(USERNAME);
    const voteId = crypto.randomUUID();
    const note = new Note({
      id: new URL(`#votes/${voteId}`, alice), attribution: alice, name: choice, replyTarget: new URL(question),
      tos: [pollAuthor.id],
    });
    const create = new Create({ id: new URL(`#votes/${voteId}/activity`, alice), actor: alice, object: note, tos: [pollAuthor.id] });
    await ctx.sendActivity({ identifier: USERNAME }, pollAuthor, create);
    sent.push(create);
    return json({ id: create.id.href });
  }

  async function handleTestApi(ctx, request, path) {
    const body = request.method === "POST" ? await request.json() : null;
    const route = `${request.method} ${path}`;
    if (route === "GET /_test/health") return json({ ok: true, actor: ctx.getActorUri(USERNAME).href });
    if (route === "GET /_test/inbox") return json(received);
    if (route === "GET /_test/followers") return json([...followers.keys()]);
    if (route === "GET /_test/followers/alicia") return json([...newFollowers.keys()]);
    if (route === "GET /_test/group/members") return json([...groupMembers.keys()]);
    if (route === "GET /_test/group/announces") return json(groupAnnounces);
    if (route === "POST /_test/group/moderate") return await announceRemoval(ctx, body);
    if (route === "POST /_test/group/relay") return await relayAsGroup(ctx, body);
    if (route === "POST /_test/serve") return serveDocument(body);
    if (route === "GET /_test/following") return json([...following.keys()]);
    if (route === "POST /_test/move") return await moveAway(ctx);
    if (route === "GET /_test/knows") {
      const actor = new URL(request.url).searchParams.get("actor") ?? "";
      return json({ follower: followers.has(actor), deleted: deletedActors.has(actor) });
    }
    if (route === "GET /_test/errors") return json(errors);
    if (route === "GET /_test/requests") return json(requests);
    if (route === "POST /_test/follow") return await followTarget(ctx, body);
    if (route === "POST /_test/note") return await postNote(ctx, body);
    if (route === "POST /_test/question") return await postQuestion(ctx, body);
    if (route === "POST /_test/vote") return await vote(ctx, body);
    if (route === "POST /_test/quote" && quotes) return await postQuote(ctx, body);
    if (route === "POST /_test/reset") {
      for (const store of [received, sent, errors, requests, groupAnnounces]) store.length = 0;
      for (const store of [followers, newFollowers, groupMembers, following, notes, questions, stamps, deletedActors, served]) store.clear();
      movedTo = null;
      return json({ ok: true });
    }
    return json({ error: `no such test route: ${route}` }, 404);
  }

  function json(value, status = 200) {
    return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
  }

  function schemeOf(headers) {
    if (headers.has("signature-input")) return "rfc9421";
    return headers.has("signature") ? "cavage" : null;
  }

  // Outgoing requests (deliveries, fetches) are logged too, with the scheme Fedify signed them with.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const response = await realFetch(request.clone());
    if (!new URL(request.url).pathname.startsWith("/_test/")) {
      requests.push({
        direction: "out", method: request.method, url: request.url, scheme: schemeOf(request.headers),
        status: response.status,
      });
    }
    return response;
  };

  // ---- node:http <-> fetch bridge --------------------------------------------------------------------

  async function toRequest(nodeRequest, origin) {
    const headers = new Headers();
    for (let i = 0; i < nodeRequest.rawHeaders.length; i += 2) {
      headers.append(nodeRequest.rawHeaders[i], nodeRequest.rawHeaders[i + 1]);
    }
    const chunks = [];
    for await (const chunk of nodeRequest) chunks.push(chunk);
    const hasBody = !["GET", "HEAD"].includes(nodeRequest.method);
    const url = new URL(nodeRequest.url, origin);
    return new Request(url, { method: nodeRequest.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined });
  }

  async function serve(federation, origin, nodeRequest, nodeResponse) {
    let response;
    try {
      const request = await toRequest(nodeRequest, origin);
      const path = new URL(request.url).pathname;
      if (path.startsWith("/_test/")) {
        response = await handleTestApi(federation.createContext(request, undefined), request, path);
      } else if (request.method === "GET" && path === `/users/${GROUP}/moderators`) {
        response = moderatorsCollection(origin);
      } else if (request.method === "GET" && served.has(path)) {
        response = new Response(JSON.stringify(served.get(path)), { headers: { "content-type": "application/activity+json" } });
      } else {
        response = await federation.fetch(request, { contextData: undefined });
        requests.push({
          direction: "in", method: request.method, url: request.url, scheme: schemeOf(request.headers),
          status: response.status,
        });
      }
    } catch (error) {
      logError(`${nodeRequest.method} ${nodeRequest.url}`, error);
      response = json({ error: String(error?.message ?? error) }, 500);
    }
    nodeResponse.writeHead(response.status, [...response.headers].flat());
    nodeResponse.end(Buffer.from(await response.arrayBuffer()));
  }

  const server = http.createServer();
  server.listen(Number(process.argv[2] ?? process.env.PORT ?? 0), HOST, () => {
    const port = server.address().port;
    const origin = `http://${HOST}:${port}`;
    const federation = buildFederation(origin);
    server.on("request", (req, res) => serve(federation, origin, req, res));
    process.stdout.write(`READY ${port}\n`);
  });
}
