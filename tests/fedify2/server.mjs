// A small real Fedify 2 server (Node.js 22) used by Plein's tests as a federation peer (see README.md):
// Fedify 2 signs RFC 9421 first and verifies both schemes; alice's actor and notes answer signed GETs only.
// Usage: node server.mjs [port]   (or PORT=...; HOST defaults to 127.0.0.1; port 0 picks a free one)
import { Temporal } from "@js-temporal/polyfill";
import * as fedify from "@fedify/fedify";
import * as vocab from "@fedify/vocab";
import { runPeer } from "../fedify/peer.mjs";

await runPeer({ ...fedify, ...vocab, Temporal }, { authorizedFetch: true });
