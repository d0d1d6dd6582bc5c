/**
 * {@linkcode NodeStats}: the counters of a node, in one documented shape. The components that
 * keep the counters name their part of it (`UdpStats = NodeStats["udp"]`, ...).
 *
 * @module
 */

/**
 * What `node.stats()` returns: counters of a node, for diagnostics, monitoring and tests.
 * Counts since the node was created, except the socket counters (`udp`, `tcpServer`,
 * `tcpClient`), which restart with each `start()`, and the gauges ("now").
 */
export interface NodeStats {
  /**
   * Exceptions caught while handling received bytes that were bugs, not bad input (a decoder
   * or a handler of a decoded message threw something other than a `PeerLinkError`); each
   * distinct one is logged once with its stack. Malformed input is counted elsewhere
   * (`udp.malformed`, `tcpServer.malformed`). Should stay 0: anything else is worth a report.
   * On a `PeerLink` node it includes discovery's (mDNS) internal errors.
   */
  internalErrors: number;
  /** Calls waiting for a reply now. */
  pendingCalls: number;
  /** Timers of this endpoint alive now (deadlines, retransmissions, idle checks). */
  timers: number;
  /** Outgoing calls since construction. */
  calls: {
    started: number;
    succeeded: number;
    failed: number;
    udp: number;
    tcp: number;
    retriedOverTcp: number;
    /** Calls refused at once because `maxPendingCallsPerPeer` were pending toward that peer. */
    busy: number;
  };
  /** UDP socket. */
  udp: {
    /** Datagrams sent (requests, retransmissions and replies). */
    sent: number;
    /** Datagrams received. */
    received: number;
    /** Request retransmissions. */
    retransmits: number;
    /** Datagrams that decoded as requests (and passed the security checks). */
    requests: number;
    /** Datagrams that decoded as replies (matched or not). */
    replies: number;
    /** Datagrams dropped as malformed (not a valid message). */
    malformed: number;
    /** Replies that matched no waiting call (late, duplicate or forged). */
    unmatched: number;
    /** Sends that failed at the socket. */
    sendErrors: number;
    /** Calls that waited for a slot in the peer's window. */
    queued: number;
  };
  /** TCP server. */
  tcpServer: {
    /** Connections accepted since start. */
    accepted: number;
    /** Connections open now. */
    open: number;
    /** Frames that decoded as requests (and passed the security checks). */
    requests: number;
    /** Connections closed because a frame header announced more than the limit. */
    oversizeFrames: number;
    /** Frames that were not valid requests. */
    malformed: number;
    /** Connections closed for idling, or for sending nothing at all within `readTimeout`. */
    idleClosed: number;
    /** Connections closed because a started frame was not completed in time (slow clients). */
    readTimeouts: number;
    /** Connections closed because a reply could not be written in time (clients that do not read). */
    writeTimeouts: number;
    /** Connections closed to make room for a new one at a connection limit. */
    evicted: number;
    /** New connections refused at a connection limit (sent a `BusyError` frame, then closed). */
    refused: number;
    /** Connections closed after a frame failed the security checks (see `stats().security`). */
    securityClosed: number;
    /** Times a connection stopped reading: too many requests in service, or the buffer budget. */
    readPauses: number;
    /** Bytes held now for partly received frames, over all connections. */
    bufferedBytes: number;
    /** Most bytes held at once for partly received frames since start. */
    peakBufferedBytes: number;
  };
  /** TCP client. */
  tcpClient: {
    /** Connections opened (pooled and one-shot). */
    connects: number;
    /** Connection attempts that failed. */
    connectFailures: number;
    /** Pooled connections open now. */
    pooled: number;
    /** One-shot connections open now. */
    oneShot: number;
    /** Requests re-sent on a fresh connection after a write failed on a dead pooled one. */
    resent: number;
    /** Replies that matched no waiting call. */
    unmatched: number;
    /** Connections a server refused at its connection limit (their calls failed with `BusyError`). */
    refused: number;
  };
  /** Serving: duplicates, too-large replies. */
  serve: {
    /** Duplicate requests answered from the reply cache (or ignored while running). */
    duplicates: number;
    /** Replies too large for a datagram. */
    repliesTooLargeForUdp: number;
    /** Replies that fit a datagram but exceeded `maxUdpAmplification` times an unauthenticated request (sent as a TCP hint). */
    amplificationLimited: number;
    /** Requests left unanswered because even the "use TCP" notice exceeded the amplification bound. */
    amplificationDropped: number;
    /** Replies fetched over TCP after a `retry: "tcp"` hint. */
    fetchedOverTcp: number;
    /** Replies too large even for TCP, replaced by an error. */
    repliesTooLargeForTcp: number;
  };
  /** Handlers. */
  handlers: {
    /** Handlers started. */
    invocations: number;
    /** Handlers that threw or returned an unsendable value. */
    failures: number;
    /** Calls of unregistered functions. */
    unknownFunctions: number;
    /** Calls refused because `maxConcurrentHandlers` were running. */
    busy: number;
    /** Calls refused because `maxHandlersPerCaller` were running for that caller's address. */
    busyPerCaller: number;
    /** Calls refused because the node served nothing then (stopping, or client-only). */
    notServing: number;
    /** Handlers running now. */
    running: number;
  };
  /** At-most-once reply cache. */
  replyCache: { entries: number; bytes: number };
  /** Sealing and everything dropped for security reasons. */
  security: {
    /** Whether a secret is set (all counters stay 0 otherwise, except `sealedWithoutSecret`). */
    enabled: boolean;
    /** Messages sealed and sent. */
    sealed: number;
    /** Sealed messages that verified and were accepted. */
    opened: number;
    /** Plaintext messages dropped because this node requires sealed ones. */
    plaintextDropped: number;
    /** Sealed messages received by a node without a secret (dropped). */
    sealedWithoutSecret: number;
    /** Envelopes with a bad layout, version or kind. */
    malformed: number;
    /** Messages outside the replay window (old, from the future, or below the replay floor). */
    stale: number;
    /** Messages whose nonce was already seen. */
    replayed: number;
    /** Messages whose tag did not verify: wrong secret, or tampered. */
    forged: number;
    /** Verified messages in the wrong place: wrong kind, `src` not the sender, `dst` not us, reply from another peer. */
    misdirected: number;
    /** Nonces remembered by the replay guard now. */
    replayCache: number;
  };
  /** Streams (arguments and results of calls, and duplex streams), both directions. */
  streams: {
    /** Streams received (revived from a message). */
    received: number;
    /** Streams sent. */
    sent: number;
    /** Streams open now. */
    open: number;
    /** Streams refused at a limit (`maxStreamsPerConnection`, `maxStreamsPerPeer`). */
    refused: number;
    /** Stream frames that could not be decoded (their connection was closed). */
    malformedFrames: number;
    /** Stream frames for a stream this side does not know (one it cancelled or never accepted; dropped). */
    unknownStream: number;
    /** Streams ended because the sender broke flow control or sent a bad value. */
    protocolErrors: number;
    /** Stream frames from another sender than the stream's (their connection was closed). */
    wrongSender: number;
  };
}
