/**
 * Where a test runs: which runtime, and whether real sockets are safe to open.
 *
 * Real-socket tests run only inside the private network namespace that `npm test`
 * (scripts/netns.sh) makes. Anywhere else they skip with a reason, so a stray
 * `deno test` on a developer's laptop never sends mDNS or RPC on a real interface.
 * `PEERLINK_REQUIRE_NETNS=1` (CI) turns that skip into a failure: every test file that asks
 * whether it may open sockets fails to load, so a CI machine that cannot make the namespace
 * cannot pass by skipping.
 */
import { networkInterfaces } from "node:os";

/** The runtime executing this test file. */
export const runtimeName: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

function socketSkipReason(): string | false {
  if (process.env.PEERLINK_NETNS !== "1") {
    return "real-socket test: runs only inside the private network namespace made by `npm test` (scripts/netns.sh)";
  }
  // Inside our namespace there is loopback, plus veth/bridge links that scripts/lan.sh made.
  const foreign = Object.entries(networkInterfaces()).filter(([name, addrs]) =>
    name !== "lo" && !name.startsWith("pl") && (addrs ?? []).some((a) => !a.internal)
  );
  if (foreign.length > 0) {
    return `real-socket test: refusing to run, interfaces outside our namespace are visible (${
      foreign.map(([n]) => n).join(", ")
    })`;
  }
  return false;
}

function requiredSocketSkip(): string | false {
  const reason = socketSkipReason();
  if (reason && process.env.PEERLINK_REQUIRE_NETNS === "1") {
    throw new Error(`PEERLINK_REQUIRE_NETNS=1, but ${reason}`);
  }
  return reason;
}

/** `false` when real-socket tests may run here, else the reason they skip (pass as `{ skip }`). */
export const socketSkip: string | false = requiredSocketSkip();
