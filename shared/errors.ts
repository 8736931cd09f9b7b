/** A refusal the API answers with a problem document: `code` is one of API.md's stable values. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(400, 'validation_failed', message);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'A valid bearer token is required.') {
    super(401, 'unauthorized', message, { 'www-authenticate': 'Bearer' });
  }
}
export class BadSignatureError extends AppError {
  constructor(message = 'The webhook signature is missing, wrong or stale.') {
    super(401, 'bad_signature', message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'This token does not carry the role this action needs.', code = 'forbidden') {
    super(403, code, message);
  }
}
export class NotFoundError extends AppError {
  constructor(what = 'resource') {
    super(404, 'not_found', `No such ${what}.`);
  }
}
export class ConflictError extends AppError {
  constructor(code: string, message: string, headers: Record<string, string> = {}) {
    super(409, code, message, headers);
  }
}
/**
 * 409 `conflict` for a write that lost to concurrent ones too often: the same request may succeed
 * when sent again (`Retry-After`), so an Idempotency-Key does not keep this answer.
 */
export class BusyError extends ConflictError {
  constructor(message: string) {
    super('conflict', message, { 'retry-after': '1' });
  }
}
export class GoneError extends AppError {
  constructor(code: string, message: string) {
    super(410, code, message);
  }
}
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, code = 'rate_limited', message = 'Too many requests; slow down.') {
    super(429, code, message, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}
export class CampaignInactiveError extends ConflictError {
  constructor() {
    super('campaign_inactive', 'The campaign is not active.');
  }
}
