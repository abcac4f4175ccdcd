// Answers for what never becomes a request: a request line or headers that HTTP cannot parse,
// and CONNECT (a proxy tunnel, which Node hands over as a bare socket). Both get a contract
// error before the socket closes.
//
// With HTTP pipelining, a parse error can come while earlier requests on the same connection are
// still being answered; answering the error at once would put it ahead of their answers (the
// client would take it for the first one's). So it waits until those answers are written.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError } from '../errors/gateway-error.js';
import { writeRawError } from '../errors/render.js';
import { newRequestId } from './request-id.js';

function clientErrorFor(err: NodeJS.ErrnoException): GatewayError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new GatewayError('headers_too_large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT') return new GatewayError('request_timeout');
  return new GatewayError('malformed_request');
}

export class ConnectionErrors {
  /** @param allow every method some route serves: the `allow` of a 405 to CONNECT. */
  constructor(private readonly allow: string) {}

  /** Responses begun and not yet closed, per connection. */
  private readonly open = new WeakMap<Duplex, number>();
  /** The last request a connection began: a parse error may be in its own body. */
  private readonly latest = new WeakMap<Duplex, IncomingMessage>();
  /** A connection's parse error, answered once its open responses are done. */
  private readonly waiting = new WeakMap<Duplex, GatewayError>();

  responseStarted(req: IncomingMessage): void {
    const socket = req.socket;
    this.open.set(socket, (this.open.get(socket) ?? 0) + 1);
    this.latest.set(socket, req);
  }

  responseEnded(socket: Duplex): void {
    const left = (this.open.get(socket) ?? 1) - 1;
    this.open.set(socket, left);
    const err = left === 0 ? this.waiting.get(socket) : undefined;
    if (err) {
      this.waiting.delete(socket);
      writeRawError(socket, err, newRequestId());
    }
  }

  readonly onClientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = clientErrorFor(err);
    // Waiting only makes sense for a request that came after complete ones; a body that broke
    // mid-way (a bad chunk size) is answered now, and its request ends with the connection.
    if ((this.open.get(socket) ?? 0) > 0 && this.latest.get(socket)?.complete === true) this.waiting.set(socket, answer);
    else writeRawError(socket, answer, newRequestId());
  };

  readonly onConnect = (_req: IncomingMessage, socket: Duplex): void => {
    writeRawError(socket, new GatewayError('method_not_allowed', {
      message: 'CONNECT is not supported: Sluice is an API, not a proxy.',
      headers: { allow: this.allow },
    }), newRequestId());
  };
}
