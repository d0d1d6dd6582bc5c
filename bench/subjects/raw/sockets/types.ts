/**
 * The few socket operations the raw baselines need, implemented once per runtime with that
 * runtime's own fastest native API (`node.ts`, `deno.ts`, `bun.ts` next to this file). They
 * are deliberately thinner than PeerLink's adapters: no error mapping, no backpressure
 * promises, no copies, so that the baseline is what the runtime itself can do.
 *
 * @module
 */

/** Called for each received datagram; `data` is only valid during the call. */
export type UdpHandler = (data: Uint8Array, port: number, address: string) => void;

/** A bound UDP socket on 127.0.0.1. */
export interface RawUdp {
  /** The bound port. */
  readonly port: number;
  /** Sends one datagram without waiting for it (fire and forget, as a tight echo loop would). */
  send(data: Uint8Array, port: number, address: string): void;
  /** Closes the socket. */
  close(): void;
}

/** An open TCP connection. */
export interface RawTcpConnection {
  /** Queues bytes for sending, in order; the caller must not change them afterwards. */
  write(data: Uint8Array): void;
  /**
   * Resolves once the bytes queued so far have been handed to the kernel (at once when nothing
   * waits): the backpressure of a streaming sender, which writes a chunk and waits for this.
   */
  drained(): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** Called for each received chunk; `chunk` is only valid during the call. */
export type TcpDataHandler = (connection: RawTcpConnection, chunk: Uint8Array) => void;

/** A TCP listener (on 127.0.0.1 unless told otherwise). */
export interface RawTcpListener {
  /** The bound port. */
  readonly port: number;
  /** Stops listening and closes the accepted connections. */
  close(): void;
}

/** One runtime's raw sockets. */
export interface RawSockets {
  /** Which API this is, for the report, e.g. `"Bun.udpSocket / Bun.listen"`. */
  readonly api: string;
  /**
   * Binds a UDP socket on 127.0.0.1 with an OS-chosen port.
   *
   * @param onMessage Called with each datagram.
   * @returns The socket.
   */
  openUdp(onMessage: UdpHandler): Promise<RawUdp>;
  /**
   * Listens for TCP with an OS-chosen port (TCP_NODELAY on accepted sockets).
   *
   * @param onData Called with each chunk any accepted connection receives.
   * @param hostname Address to listen on (default 127.0.0.1; a LAN host's address for the file row).
   * @returns The listener.
   */
  listenTcp(onData: TcpDataHandler, hostname?: string): Promise<RawTcpListener>;
  /**
   * Connects (TCP_NODELAY on).
   *
   * @param port Target port.
   * @param onData Called with each chunk received.
   * @param hostname Target address (default 127.0.0.1).
   * @returns The connection.
   */
  connectTcp(port: number, onData: TcpDataHandler, hostname?: string): Promise<RawTcpConnection>;
}

/** Loopback, where every raw subject runs except the file row's (between two LAN hosts). */
export const LOOPBACK = "127.0.0.1";
