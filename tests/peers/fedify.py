"""Harness for the Fedify test peers in tests/fedify/ (Fedify 1.5, Node.js 20) and tests/fedify2/ (Fedify 2,
on the Node.js 22 its packages install), real Fedify servers run by Node.js.

`FedifyPeer` starts `node server.mjs` on a free port of 127.0.0.1 and drives its `/_test/` control API.
Its actor is `alice` (and `alicia`, her new account, which lists her in `alsoKnownAs`, for moves); she signs what she sends (draft-cavage HTTP Signatures with RSA, plus Ed25519
Object Integrity Proofs) and Fedify verifies the signatures of everything delivered to her inbox.

Use it from another test module by importing the fixture (pytest finds it in the module's namespace):

    from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides "fedify_peer")

    async def test_something(fedify_peer: FedifyPeer) -> None:
        await fedify_peer.follow("http://127.0.0.1:8000/users/bob")

`peers` is importable once `tests/` is on sys.path (a tests/conftest.py does that); a tests/conftest.py
with `pytest_plugins = ["peers.fedify"]` would offer the fixture everywhere without the import.

The control methods are async so that a Plein server running on the test's own event loop can answer
Fedify while the test waits for it.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlencode

import httpx
import pytest

from support.npm import NpmInstallError, ensure_npm_installed

FEDIFY_DIR = Path(__file__).resolve().parent.parent / "fedify"
# Fedify 2 needs Node.js 22, which its package.json installs as the npm package `node@22`.
FEDIFY2_DIR = Path(__file__).resolve().parent.parent / "fedify2"
ACTOR_USERNAME = "alice"
NEW_ACTOR_USERNAME = "alicia"  # alice's new account: `alsoKnownAs` alice
GROUP_USERNAME = "club"  # a FEP-1b12 group: it announces its members' posts addressed to it

JsonObject = dict[str, Any]


class FedifyPeerError(RuntimeError):
    """The Fedify peer could not be installed or started, or its control API failed."""


def ensure_fedify_installed(fedify_dir: Path = FEDIFY_DIR) -> None:
    """Install the peer's npm packages with `npm ci` unless node_modules already matches the lockfile."""
    try:
        ensure_npm_installed(fedify_dir)
    except NpmInstallError as error:
        raise FedifyPeerError(str(error)) from error


def node_for(fedify_dir: Path) -> str:
    """The Node.js the peer runs on: the one its packages installed (`node@22` for Fedify 2), else PATH's."""
    bundled = fedify_dir / "node_modules" / ".bin" / "node"
    return str(bundled) if bundled.exists() else shutil.which("node") or "node"


class FedifyPeer:
    """A running Fedify server with one actor, `alice`; use as a context manager or call start()/stop()."""

    def __init__(self, fedify_dir: Path = FEDIFY_DIR, startup_timeout: float = 60.0) -> None:
        self.fedify_dir = fedify_dir
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._stderr_file: IO[str] | None = None
        self._stdout_lines: queue.Queue[str | None] = queue.Queue()
        self._stdout_reader: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FedifyPeer:
        """Install if needed, start `node server.mjs` on a free port and wait for its READY line."""
        ensure_fedify_installed(self.fedify_dir)
        self._stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._process = subprocess.Popen(
            [node_for(self.fedify_dir), "server.mjs", "0"],
            cwd=self.fedify_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
        )
        # A reader thread keeps the stdout pipe drained, so a chatty server can never block on it.
        self._stdout_reader = threading.Thread(
            target=self._read_stdout, name="fedify-peer-stdout", daemon=True
        )
        self._stdout_reader.start()
        try:
            self.port = self._wait_for_ready()
        except BaseException:
            self.stop()
            self._close_stderr()  # its text is already in the exception
            raise
        return self

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._stdout_lines.put(line)
        self._stdout_lines.put(None)

    def _wait_for_ready(self) -> int:
        while True:
            try:
                line = self._stdout_lines.get(timeout=self.startup_timeout)
            except queue.Empty:
                raise FedifyPeerError(
                    f"Fedify peer printed no READY line within {self.startup_timeout}s\n{self.stderr()}"
                ) from None
            if line is None:
                raise FedifyPeerError(f"Fedify peer exited before it was ready:\n{self.stderr()}")
            if line.startswith("READY "):
                return int(line.split()[1])

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and keep its stderr readable through stderr()."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        # The reader sees end-of-file once the process is gone; closing the pipe under it would raise.
        if self._stdout_reader is not None:
            self._stdout_reader.join(timeout=5)
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()

    def stderr(self) -> str:
        """What the server wrote to stderr so far (its errors and logs), for failure messages."""
        if self._stderr_file is None:
            return ""
        self._stderr_file.flush()
        self._stderr_file.seek(0)
        return self._stderr_file.read()

    def __enter__(self) -> FedifyPeer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._close_stderr()

    def _close_stderr(self) -> None:
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the authority part of every URL and of alice's handle."""
        if self.port is None:
            raise FedifyPeerError("the Fedify peer is not started")
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def actor_url(self) -> str:
        return f"{self.base_url}/users/{ACTOR_USERNAME}"

    @property
    def new_actor_url(self) -> str:
        """alicia, alice's new account (she lists alice in `alsoKnownAs`)."""
        return f"{self.base_url}/users/{NEW_ACTOR_USERNAME}"

    @property
    def group_url(self) -> str:
        """The peer's group `club` (a `Group` actor that announces its members' posts, FEP-1b12)."""
        return f"{self.base_url}/users/{GROUP_USERNAME}"

    @property
    def inbox_url(self) -> str:
        return f"{self.actor_url}/inbox"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def handle(self) -> str:
        """`alice@127.0.0.1:PORT`, as used in a WebFinger `acct:` resource."""
        return f"{ACTOR_USERNAME}@{self.host}"

    # ---- control API -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, json_body: JsonObject | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0) as client:
            response = await client.request(method, f"/_test/{path}", json=json_body)
        if response.status_code != 200:
            raise FedifyPeerError(
                f"{method} /_test/{path} -> {response.status_code}: {response.text}\n{self.stderr()}"
            )
        return response.json()

    async def inbox(self) -> list[JsonObject]:
        """Activities alice received, oldest first: type, id, actor, object_id, object_type, content, raw."""
        return await self._call("GET", "inbox")

    async def followers(self) -> list[str]:
        """Actor URIs of alice's followers (each one's Follow was accepted)."""
        return await self._call("GET", "followers")

    async def new_account_followers(self) -> list[str]:
        """Actor URIs of alicia's followers."""
        return await self._call("GET", "followers/alicia")

    async def group_members(self) -> list[str]:
        """Actor URIs of the group's followers (its members)."""
        return await self._call("GET", "group/members")

    async def group_announces(self) -> list[JsonObject]:
        """What the group announced, oldest first: id, create_id, object_id (the post), delivered_to."""
        return await self._call("GET", "group/announces")

    async def group_moderate(self, object_uri: str, by: str = ACTOR_USERNAME) -> JsonObject:
        """The group announces `by`'s `Delete` of a post to its members, as Lemmy announces a moderator's
        removal; `by` is an actor of the peer: alice moderates the group, alicia does not (a forgery)."""
        return await self._call("POST", "group/moderate", {"object": object_uri, "by": by})

    async def group_relay(self, activity: JsonObject) -> JsonObject:
        """The group announces `activity` (raw JSON, as Lemmy's communities relay a member's `Create(Page)`,
        `Like`, `Update` or a moderator's `Lock`) to each member's inbox, signed by the group; answers the
        `Announce`'s id and the HTTP status each inbox answered."""
        return await self._call("POST", "group/relay", {"activity": activity})

    async def serve(self, path: str, document: JsonObject) -> None:
        """Serve `document` as ActivityStreams JSON at `path` (a Lemmy Page of alice's), until reset."""
        await self._call("POST", "serve", {"path": path, "document": document})

    async def following(self) -> list[str]:
        """Actor URIs alice follows (a `Move` of one of them, to a target that lists it in `alsoKnownAs`, makes
        her unfollow it and follow the target, as Mastodon does)."""
        return await self._call("GET", "following")

    async def move(self) -> JsonObject:
        """alice moves to alicia: her actor shows `movedTo` and her followers receive `Move`."""
        return await self._call("POST", "move", {})

    async def errors(self) -> list[str]:
        """Failures the server caught (inbox listeners, Accept deliveries), with stacks."""
        return await self._call("GET", "errors")

    async def requests(self) -> list[JsonObject]:
        """Every request the peer received or sent, oldest first: direction ("in"/"out"), method, url,
        scheme ("rfc9421", "cavage" or None) and the status answered."""
        return await self._call("GET", "requests")

    async def knows(self, actor: str) -> JsonObject:
        """What alice knows of `actor`: `follower` (it follows her) and `deleted` (its own Delete reached her)."""
        return await self._call("GET", f"knows?{urlencode({'actor': actor})}")

    async def follow(self, target: str) -> JsonObject:
        """Alice looks `target` (an actor URL) up and delivers a signed Follow; returns its id and object."""
        return await self._call("POST", "follow", {"target": target})

    async def post_note(
        self,
        content: str,
        to: str = "followers",
        mention: str | None = None,
        contents: dict[str, str] | None = None,
    ) -> JsonObject:
        """Alice publishes a Note (to "followers" or "public") and delivers Create(Note) to her followers
        and to `mention` (an actor URL); returns the note id, the activity id and the inboxes' owners.
        `contents` ({language: html}) publishes it in several languages instead (`contentMap`)."""
        body: JsonObject = {"content": content, "to": to, "mention": mention}
        if contents is not None:
            body["contents"] = contents
        return await self._call("POST", "note", body)

    async def post_question(self, content: str, options: list[str], *, multiple: bool = False) -> JsonObject:
        """alice posts a poll (a `Question`) to her followers."""
        return await self._call(
            "POST", "question", {"content": content, "options": options, "multiple": multiple}
        )

    async def vote(self, question: str, author: str, choice: str) -> JsonObject:
        """alice votes `choice` on the poll `question` by `author` (a `Create(Note)` with its name)."""
        return await self._call("POST", "vote", {"question": question, "author": author, "choice": choice})

    async def quote(self, target: str, content: str) -> JsonObject:
        """alice quotes the post `target` (Fedify 2 only): a Note with `quote` and `quoteUrl` to her followers
        and the quoted author, and a `QuoteRequest` to the quoted author. The peer approves quotes of hers
        at once, with a stamp it serves."""
        return await self._call("POST", "quote", {"target": target, "content": content})

    async def reset(self) -> None:
        """Forget received activities, followers, notes and errors (the keys stay)."""
        await self._call("POST", "reset", {})

    async def wait_for_activity(
        self, matches: Callable[[JsonObject], bool], timeout: float = 10.0
    ) -> JsonObject:
        """Poll the inbox until an activity matches, for senders that deliver from a background queue."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for activity in await self.inbox():
                if matches(activity):
                    return activity
            if loop.time() > deadline:
                raise FedifyPeerError(
                    f"no matching activity reached alice within {timeout}s; inbox: {await self.inbox()}\n"
                    f"errors: {await self.errors()}\n{self.stderr()}"
                )
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module", name="fedify_peer")
def fedify_peer_fixture() -> Iterator[FedifyPeer]:
    """A started Fedify peer shared by one test module; it is stopped after the module's last test."""
    with FedifyPeer() as peer:
        yield peer


@pytest.fixture(scope="module", name="fedify2_peer")
def fedify2_peer_fixture() -> Iterator[FedifyPeer]:
    """A started Fedify 2 peer (Node.js 22) shared by one test module."""
    with FedifyPeer(FEDIFY2_DIR) as peer:
        yield peer
