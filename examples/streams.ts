// streams.ts: streams as arguments and results, and a duplex byte stream
import { PeerLink } from "peerlink";

interface LogApi {
  // A result stream: the caller reads a ReadableStream.
  tail(lines: number): AsyncIterable<string>;
  // A stream argument: pass a ReadableStream or an async generator.
  count(chunks: ReadableStream<Uint8Array>): number;
}

const realm = "streams-demo"; // a realm of their own: they see only each other
const logs = new PeerLink("Logs", { realm })
  .register("tail", async function* (lines: number) {
    for (let n = 1; n <= lines; n++) yield `line ${n}`;
  })
  .register("count", async (chunks: ReadableStream<Uint8Array>) => {
    let bytes = 0;
    for await (const chunk of chunks) bytes += chunk.length;
    return bytes;
  })
  // A duplex byte stream; it closes when the handler settles.
  .registerStream("shout", async (stream) => {
    const text = new TextDecoderStream();
    const upper = new TransformStream<string, string>({
      transform: (chunk, out) => out.enqueue(chunk.toUpperCase()),
    });
    await stream.readable.pipeThrough(text).pipeThrough(upper)
      .pipeThrough(new TextEncoderStream()).pipeTo(stream.writable);
  });
await logs.start();

const options = { realm, announce: false }; // a client only
await using reader = await new PeerLink("Reader", options).start();
await reader.waitForPeers(1, { timeout: 3000 });
const api = reader.peer<LogApi>("Logs");
for await (const line of await api.tail(3)) console.log(line); // line 1..3

async function* chunks() {
  // Flow control: each chunk is sent as the reader reads.
  for (let i = 0; i < 3; i++) yield new Uint8Array(1000);
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
