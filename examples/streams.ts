// streams.ts: streams as arguments and results, and a duplex byte stream
import { PeerLink } from "peerlink";

interface LogApi {
  tail(lines: number): AsyncIterable<string>; // a result stream: the caller reads a ReadableStream
  count(chunks: ReadableStream<Uint8Array>): number; // a stream argument: pass a ReadableStream or an async generator
}

const realm = "streams-demo"; // its own realm: these two nodes see only each other
const logs = new PeerLink("Logs", { realm })
  .register("tail", async function* (lines: number) {
    for (let n = 1; n <= lines; n++) yield `line ${n}`;
  })
  .register("count", async (chunks: ReadableStream<Uint8Array>) => {
    let bytes = 0;
    for await (const chunk of chunks) bytes += chunk.length;
    return bytes;
  })
  .registerStream("shout", async (stream) => { // a duplex byte stream, closed when this settles
    const upper = new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, out) =>
        out.enqueue(
          new TextEncoder().encode(
            new TextDecoder().decode(chunk).toUpperCase(),
          ),
        ),
    });
    await stream.readable.pipeThrough(upper).pipeTo(stream.writable);
  });
await logs.start();

await using reader = await new PeerLink("Reader", { realm, announce: false })
  .start();
await reader.waitForPeers(1, { timeout: 3000 });
const api = reader.peer<LogApi>("Logs");
for await (const line of await api.tail(3)) console.log(line); // line 1, line 2, line 3

async function* chunks() {
  for (let i = 0; i < 3; i++) yield new Uint8Array(1000); // flow control: sent as the reader reads
}
console.log(await api.count(chunks())); // 3000

const shout = await reader.openStream("Logs", "shout", { timeout: 5000 });
const writer = shout.writable.getWriter();
await writer.write(new TextEncoder().encode("hello"));
await writer.close();
for await (const chunk of shout.readable) {
  console.log(new TextDecoder().decode(chunk)); // HELLO
}
await shout.closed;
await logs.stop();
