import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { getRequestListener } from '@hono/node-server';
import { type Problem, problemOf, problemResponse } from '#shared/http/problem';

/** What Node's parser refuses, as status, reason phrase and detail. */
function answerTo(code: string | undefined): [number, string, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'Request Header Fields Too Large', 'Request headers are too large (16 KiB at most).'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'Payload Too Large', 'Chunk extensions are too large.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'Request Timeout', 'The request took too long to arrive.'];
    default:
      return [400, 'Bad Request', 'Malformed HTTP request.'];
  }
}

/** Writes a whole answer on a raw socket, then closes it; a client gone meanwhile (a reset) only ends it sooner. */
function endSocket(socket: Duplex, status: number, reason: string, problem: Problem): void {
  // Node has taken its own error listener off a socket it hands over (CONNECT): without one, a reset would crash the process.
  socket.on('error', () => socket.destroy());
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}

/**
 * The request listener for `fetch`, and the answers to what never reaches it, each a problem
 * document instead of Node's or the adapter's bare status line:
 * - what Node's HTTP parser refuses (headers over 16 KiB, malformed request lines): 4xx, then the
 *   connection closes (written only when no other answer has begun on it, as Node's own handler does);
 * - a request the adapter cannot make into a URL (a bad `Host`, a backslash in the path), or an
 *   HTTP/1.1 request with no `Host` at all (RFC 9112 §3.2; HTTP/1.0 may omit it): 400;
 * - an `Expect` other than `100-continue`: 417;
 * - `CONNECT` (this server is no proxy): 404, as any method a path does not take.
 */
export function requestListener(
  server: Server,
  fetch: (req: Request, env: unknown) => Response | Promise<Response>,
  log: Logger,
): RequestListener {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const [status, reason, detail] = answerTo(err.code);
    endSocket(socket, status, reason, problemOf(status, 'validation_failed', detail));
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    endSocket(socket, 404, 'Not Found', problemOf(404, 'not_found', 'No such route.')),
  );
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(problemOf(417, 'validation_failed', 'Only the expectation 100-continue is supported.'));
    res.writeHead(417, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const listener = getRequestListener(fetch, {
    errorHandler: (err) => {
      const refused = err instanceof Error && err.name === 'RequestError';
      if (!refused) log.error('unhandled error', { error: err as Error });
      return problemResponse(
        refused
          ? problemOf(400, 'validation_failed', `Malformed HTTP request: ${(err as Error).message}.`)
          : problemOf(500, 'internal', 'Something went wrong on our side.'),
      );
    },
  });
  return (req, res) => {
    if (req.headers.host === undefined && req.httpVersion === '1.0') req.headers.host = 'localhost';
    return listener(req, res);
  };
}
