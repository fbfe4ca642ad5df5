// A small real Fedify 1.5.9 server (Node.js 20) used by Plein's tests as a federation peer (see README.md).
// Usage: node server.mjs [port]   (or PORT=...; HOST defaults to 127.0.0.1; port 0 picks a free one)
import { Temporal } from "@js-temporal/polyfill";
import * as fedify from "@fedify/fedify";
import { runPeer } from "./peer.mjs";

await runPeer({ ...fedify, Temporal });
