// Prints what megalodon's own detector() makes of the server at argv[2] ("mastodon", "pleroma", ...),
// or "error: <message>" when it refuses the server.
import { detector } from 'megalodon';

try {
  console.log(await detector(process.argv[2]));
} catch (error) {
  console.log(`error: ${error.message}`);
}
