// Retries with exponential backoff and full jitter, for transient failures only.
import { isTransient, messageOf, StageError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told about every retry (what, attempt that failed, why, delay before the next). */
  onRetry?: (what: string, attempt: number, reason: string, delayMs: number) => void;
}

/** Transient failures outlasted every attempt; what was fetched so far is kept for the next run. */
export class GaveUp extends StageError {}

export const defaultRetry: RetryPolicy = { attempts: 6, baseMs: 500, maxMs: 20_000 };

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delay before attempt n+1 after n failures: uniform in [0, min(max, base·2^(n-1))], at least a Retry-After. */
export function backoffMs(policy: RetryPolicy, failures: number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (failures - 1));
  const jittered = Math.round((policy.random ?? Math.random)() * ceiling);
  return retryAfterMs !== undefined ? Math.min(policy.maxMs, Math.max(jittered, retryAfterMs)) : jittered;
}

export async function withRetries<T>(what: string, policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isTransient(error) || n >= policy.attempts) {
        if (isTransient(error)) {
          throw new GaveUp(`${what}: gave up after ${n} attempt${n === 1 ? '' : 's'}: ${messageOf(error)}`);
        }
        throw error;
      }
      const delay = backoffMs(policy, n, (error as { retryAfterMs?: number }).retryAfterMs);
      policy.onRetry?.(what, n, messageOf(error), delay);
      await (policy.sleep ?? wait)(delay);
    }
  }
}
