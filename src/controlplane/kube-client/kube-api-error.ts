/** A failure answer of the apiserver: the HTTP code and the `Status` reason (NotFound, Conflict, Expired…). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  /** Builds the error from an answer body, which is a `Status` object when the apiserver wrote it. */
  static fromAnswer(code: number, body: string): KubeApiError {
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string };
      return new KubeApiError(code, status.reason ?? 'Unknown', status.message ?? body);
    } catch {
      return new KubeApiError(code, 'Unknown', body.trim() || `HTTP ${code}`);
    }
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409 && err.reason === 'Conflict';
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists';
/** 410: the resourceVersion a list or watch asked for has been compacted away; list again. */
export const isExpired = (err: unknown): boolean => err instanceof KubeApiError && err.code === 410;
