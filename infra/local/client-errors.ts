import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { problemOf } from '#shared/http/problem';

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

/**
 * Answers requests Node's HTTP parser refuses before they reach the app (headers over 16 KiB,
 * malformed request lines) with a problem document too, instead of Node's bare status line.
 * As Node's own handler does, it writes only when no other response has begun on the connection,
 * then closes it.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const [status, reason, detail] = answerTo(err.code);
    const body = JSON.stringify(problemOf(status, 'validation_failed', detail));
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
      () => socket.destroy(),
    );
  });
}
