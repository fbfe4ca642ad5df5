// Streams with masto.js's own client: one WebSocket (token as the subprotocol, as masto.js sends it) with
// two `subscribe` messages, public:local and a hashtag. argv[2] streaming URL, argv[3] access token,
// argv[4] hashtag. Prints one line per update ("local <content>" / "tag <content>") and exits after two.
import { createStreamingAPIClient } from 'masto';

const [streamingApiUrl, accessToken, tag] = process.argv.slice(2);
const client = createStreamingAPIClient({ streamingApiUrl, accessToken, retry: false });
let updates = 0;

async function read(name, subscription) {
  for await (const event of subscription) {
    if (event.event !== 'update') continue;
    console.log(`${name} ${event.payload.content}`);
    updates += 1;
    if (updates === 2) {
      client.close();
      process.exit(0);
    }
  }
}

await Promise.all([
  read('local', client.public.local.subscribe()),
  read('tag', client.hashtag.subscribe({ tag })),
]);
