/**
 * Turning a reply message into the outcome of a call: the result, a {@linkcode RemoteError}
 * carrying the remote type, message, code and data, or a {@linkcode BusyError} when the peer said it is at
 * a limit.
 *
 * @module
 */
import { BusyError, RemoteError } from "../errors.ts";
import type { ErrorMessage, ResponseMessage } from "../wire/messages.ts";
import type { PendingCall } from "./call.ts";
import { BUSY_ERROR } from "./dispatch.ts";

/**
 * Settles `call` with `reply`.
 *
 * @param call The call the reply belongs to.
 * @param reply A response or error message with the call's id.
 *
 * @example
 * ```ts ignore
 * settleWithReply(call, { type: "response", id: call.id, result: 3 }); // call.promise resolves 3
 * ```
 */
export function settleWithReply(call: PendingCall, reply: ResponseMessage | ErrorMessage): void {
  if (reply.type === "response") {
    call.settle({ ok: true, value: reply.result });
    return;
  }
  const details = { peer: call.peer.name, function: call.fn };
  const error = reply.error.type === BUSY_ERROR
    ? new BusyError(`'${call.fn}' on '${call.peer.name}' was refused: ${reply.error.message}`, details)
    : new RemoteError({
      ...details,
      remoteType: reply.error.type,
      remoteMessage: reply.error.message,
      remoteCode: reply.error.code,
      remoteData: reply.error.data,
    });
  call.settle({ ok: false, error });
}
