/**
 * UDP on Bun: `Bun.udpSocket` as a {@linkcode DatagramSocket}.
 * https://bun.sh/docs/api/udp and https://bun.sh/reference/bun/udpSocket
 *
 * Bun limits, measured on Bun 1.4.5 (Linux), worked around here:
 * - `Bun.udpSocket` has no documented reuse option. Its undocumented `flags` field is the
 *   one Bun's own `node:dgram` passes (LISTEN_REUSE_ADDR = 16, LISTEN_REUSE_PORT = 4,
 *   SOCKET_IPV6_ONLY = 8, as in Bun 1.4's built-in dgram module; SO_REUSEADDR became
 *   opt-in with https://github.com/oven-sh/bun/pull/27246). `reuseAddress` sets both
 *   SO_REUSEADDR and SO_REUSEPORT, as Avahi and Python zeroconf do. Linux admits a new
 *   socket to a bound port only if, against every holder, both set SO_REUSEADDR or both
 *   set SO_REUSEPORT; setting both shares 5353 with either kind (Node's `reuseAddr` and
 *   Deno's `reuseAddress` set SO_REUSEADDR only, checked by binding them side by side).
 * - The UDP `error` handler gets `(error)` alone (the typings say `(socket, error)`), and
 *   without one an ICMP port-unreachable for an earlier send crashes the process. Such an
 *   error can instead fail the next `send()`; send_queue.ts retries past it.
 *
 * @module
 */
import { addressFamily, formatEndpoint } from "../../src/net.ts";
import type { Datagram, DatagramBindOptions, DatagramSocket, NetAddr } from "../../src/net.ts";
import { toNetError } from "../../src/net_errors.ts";
import type { BunNet, BunUdpSocket } from "./api.ts";
import { asBytes, deliver, log } from "./handlers.ts";
import { BunMulticast } from "./multicast.ts";
import { DatagramSendQueue } from "./send_queue.ts";

/** Option bits of `Bun.udpSocket({ flags })`, as Bun 1.4's built-in `node:dgram` passes them. */
const LISTEN_REUSE_PORT = 4;
const SOCKET_IPV6_ONLY = 8;
const LISTEN_REUSE_ADDR = 16;

/**
 * Binds a UDP socket.
 *
 * @param bun The Bun global.
 * @param options Address, port, reuseAddress.
 * @param onMessage Receives every datagram.
 * @returns The bound socket; rejects with a {@linkcode NetError} naming the endpoint.
 */
export async function bindDatagram(
  bun: BunNet,
  options: DatagramBindOptions,
  onMessage: (message: Datagram) => void,
): Promise<DatagramSocket> {
  const { address, port } = options;
  const family = addressFamily(address);
  // Handlers exist before the wrapper does; they find it through this holder.
  const holder: { socket?: BunDatagramSocket } = {};
  // Both reuse options, so the port is shared with SO_REUSEADDR and SO_REUSEPORT holders alike.
  let flags = options.reuseAddress ? LISTEN_REUSE_ADDR | LISTEN_REUSE_PORT : 0;
  // An IPv6 socket carries IPv6 only, so an IPv4 and an IPv6 socket can both hold 5353.
  if (family === "IPv6") flags |= SOCKET_IPV6_ONLY;
  let socket: BunUdpSocket;
  try {
    socket = await bun.udpSocket({
      hostname: address,
      port,
      flags,
      socket: {
        data(_socket, data, fromPort, fromAddress) {
          if (holder.socket?.closed) return;
          deliver(() => onMessage({ data: asBytes(data), address: fromAddress, port: fromPort }));
        },
        drain() {
          holder.socket?.flush();
        },
        error(...args) {
          // Asynchronous errors, e.g. an ICMP port-unreachable for an earlier send:
          // normal on a LAN, and fatal to the process if not handled here.
          const error = args[args.length - 1] as { code?: string; message?: string } | undefined;
          log.debug(`UDP ${formatEndpoint(address, port)}: ignored ${error?.code ?? error?.message ?? String(error)}`);
        },
      },
    });
  } catch (error) {
    throw toNetError(error, "UDP bind", address, port);
  }
  holder.socket = new BunDatagramSocket(socket, { address, port: socket.port, family });
  return holder.socket;
}

class BunDatagramSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  readonly #socket: BunUdpSocket;
  readonly #sends: DatagramSendQueue;
  readonly #multicast: BunMulticast;
  #closed = false;

  constructor(socket: BunUdpSocket, localAddress: NetAddr) {
    this.#socket = socket;
    this.localAddress = localAddress;
    this.#sends = new DatagramSendQueue(socket);
    this.#multicast = new BunMulticast(socket, localAddress.family, () => this.#closed);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array, address: string, port: number): Promise<void> {
    return this.#sends.send(data, address, port);
  }

  /** Bun's `drain`: sends what waits for buffer space. */
  flush(): void {
    this.#sends.flush();
  }

  joinMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#multicast.join(group, interfaceAddress);
  }

  leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#multicast.leave(group, interfaceAddress);
  }

  setMulticastInterface(interfaceAddress: string): Promise<void> {
    return this.#multicast.setInterface(interfaceAddress);
  }

  setMulticastTTL(ttl: number): Promise<void> {
    return this.#multicast.setTTL(ttl);
  }

  setMulticastLoopback(enabled: boolean): Promise<void> {
    return this.#multicast.setLoopback(enabled);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#multicast.dropAll();
    this.#closed = true;
    this.#sends.close();
    this.#socket.close();
    return Promise.resolve();
  }
}
