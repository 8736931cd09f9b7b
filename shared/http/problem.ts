import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { AppError, ValidationError } from '../errors.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: { path: string; message: string }[];
}

/** Whether the request's client closed the connection before the answer (Node's server aborts the request's signal then). */
export const isCutOff = (c: Context): boolean => c.req.raw.signal?.aborted === true;

/** An RFC 9457 problem document response. */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

export function problemOf(status: number, code: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return {
    type: `https://fission.dev/problems/${code.replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

/** Zod issues as `{ path, message }` pairs for the problem document. */
export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

/** The one place errors become HTTP answers: domain errors by their code, anything unknown as a logged 500. */
export function errorToResponse(err: unknown, c: Context): Response {
  if (err instanceof ValidationError)
    return problemResponse(problemOf(400, err.code, err.message, err.issues.length ? { errors: err.issues } : {}));
  if (err instanceof AppError) return problemResponse(problemOf(err.status, err.code, err.message), err.headers);
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400)
      return problemResponse(problemOf(400, 'validation_failed', err.message || 'Malformed request.'));
    if (status === 413) return problemResponse(problemOf(413, 'validation_failed', 'Request body is too large.'));
    if (status < 500) return problemResponse(problemOf(400, 'validation_failed', err.message || 'Malformed request.'));
  }
  // The client closed the connection mid-body (Node's `aborted`): nobody reads this answer, and
  // nothing failed on our side, so it is neither a 500 nor an error in the logs.
  if (err instanceof Error && err.message === 'aborted' && (err as NodeJS.ErrnoException).code === 'ECONNRESET')
    return problemResponse(problemOf(400, 'validation_failed', 'The request ended before its body did.'));
  const log = c.get('deps')?.log;
  const line = { error: err as Error, path: c.req.path, requestId: c.get('requestId') };
  // A request whose client had gone (a stop closing its connection, say) failed with nobody waiting.
  if (log && isCutOff(c)) log.warn('request failed after its client had gone', line);
  else if (log) log.error('unhandled error', line);
  else console.error(err);
  return problemResponse(problemOf(500, 'internal', 'Something went wrong on our side.'));
}
