// What can go wrong while staging, split by what a retry can do about it.
import { UserError } from '../errors.ts';

/** Exit code of `make stage` when an artifact could not be fetched, verified or uploaded. */
export const STAGE_FAILED = 6;

/** Staging failed in a way the user must act on (not found, checksum mismatch, rate limit, access denied). */
export class StageError extends UserError {
  constructor(message: string, exitCode = STAGE_FAILED) {
    super(message, exitCode);
  }
}

/** A failure worth another attempt: 5xx, throttling, a reset connection, a truncated body. */
export class TransientError extends Error {
  constructor(
    message: string,
    /** The server's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientError';
  }
}

/** The bytes did not hash to the published SHA-256: never retried from the same bytes, never uploaded. */
export class ChecksumMismatch extends StageError {
  constructor(
    readonly artifact: string,
    readonly expected: string,
    readonly actual: string,
    readonly from: string,
  ) {
    super(`checksum mismatch for ${artifact} from ${from}: published sha256 ${expected}, downloaded bytes hash to ${actual}; nothing of it was uploaded`);
  }
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const TRANSIENT_AWS = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeoutException', 'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'TimeoutError']);

/** Whether another attempt may succeed: our TransientError, a dropped connection, or an AWS 5xx/throttling answer. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (error instanceof UserError) return false;
  const e = error as { code?: string; name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e?.code && TRANSIENT_CODES.has(e.code)) return true;
  if (e?.name && TRANSIENT_AWS.has(e.name)) return true;
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return /^(aborted|socket hang up|premature close)$/i.test(e?.message ?? '');
}

export const messageOf = (error: unknown): string => {
  const e = error as { name?: string; message?: string; code?: string };
  const text = e?.message || e?.name || String(error);
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
};
