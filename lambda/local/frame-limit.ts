import type { WebSocket } from 'ws';

/** The parts of `ws`'s internal frame parser this module touches. */
interface ReceiverInternals {
  _opcode: number;
  _payloadLength: number;
  haveLength(callback: (error?: Error) => void): void;
  createError(type: typeof RangeError, message: string, prefix: boolean, statusCode: number, errorCode: string): Error;
}

/**
 * Enforce API Gateway's 32 KB limit on a single incoming data frame: a bigger frame closes the
 * connection with 1009, as API Gateway does. `ws` only limits whole messages (`maxPayload`, used
 * for the 128 KB message quota), so this wraps the frame-length step of the socket's receiver.
 * It relies on `ws` internals; when they are not there it returns `false` and only the message
 * limit applies (the caller logs a warning).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table
 */
export function limitIncomingFrameSize(socket: WebSocket, maxFrameBytes: number): boolean {
  const receiver = (socket as unknown as { _receiver?: ReceiverInternals })._receiver;
  if (!receiver || typeof receiver.haveLength !== 'function' || typeof receiver.createError !== 'function') return false;
  const haveLength = receiver.haveLength;
  receiver.haveLength = function limitedHaveLength(this: ReceiverInternals, callback) {
    // Opcodes below 0x08 are data frames (continuation, text, binary); control frames are tiny.
    if (this._opcode < 0x08 && this._payloadLength > maxFrameBytes) {
      callback(this.createError(RangeError, 'Frame size exceeded', false, 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'));
      return;
    }
    haveLength.call(this, callback);
  };
  return true;
}
