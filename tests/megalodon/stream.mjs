// Streams with megalodon's own WebSocket client: argv[2] base URL, argv[3] access token, argv[4] hashtag.
// Opens its tag stream and its local stream, prints "connected" once both are open, then one line per
// update ("tag <content>" / "local <content>") and exits after two; "error: <message>" on a failure.
import generator from 'megalodon';

const [baseUrl, token, tag] = process.argv.slice(2);
const client = generator('mastodon', baseUrl, token);
const streams = [];
let connected = 0;
let updates = 0;

// megalodon connects as soon as a stream is made: listen before the next one is asked for.
function watch(name, stream) {
  streams.push(stream);
  stream.on('connect', () => {
    connected += 1;
    if (connected === 2) console.log('connected');
  });
  stream.on('update', (status) => {
    console.log(`${name} ${status.content}`);
    updates += 1;
    if (updates === 2) {
      for (const open of streams) open.stop();
      process.exit(0);
    }
  });
  stream.on('error', (error) => {
    console.log(`error: ${error?.message ?? error}`);
    process.exit(1);
  });
  stream.on('parser-error', (error) => console.log(`error: ${error.message}`));
}

watch('tag', await client.tagStreaming(tag));
watch('local', await client.localStreaming());
