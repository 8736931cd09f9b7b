import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { problemOf } from '#shared/http/problem';

/**
 * Answers requests Node's HTTP parser refuses before they reach the app (headers over 16 KiB,
 * malformed request lines) with a problem document too, instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify(
      problemOf(
        status,
        'validation_failed',
        tooLarge ? 'Request headers are too large (16 KiB at most).' : 'Malformed HTTP request.',
      ),
    );
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
