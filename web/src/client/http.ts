// The HTTP side of the web app: JSON calls to `/api/v1`, the server's error codes, and the server's clock.

/** An answer of the API other than success: its stable code (docs/protocol.md §10) and details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
    readonly currentVersion?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A request that did not reach the server or got no readable answer. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; retry_after?: number; current_version?: number };
}

/**
 * Where the API lives and what time the server thinks it is. Signed requests must be `created` within
 * [server − 60 s, server + 10 s], so the offset between this device's clock and every answer's `Date`
 * is tracked and used.
 */
export class Api {
  private offsetSeconds = 0;

  /** `base` is the server's public URL (origin and optional path prefix, no trailing slash). */
  constructor(readonly base: string) {}

  /** The full URL of an API path such as `/recipient/share`. */
  url(path: string): string {
    return `${this.base}/api/v1${path}`;
  }

  /** The server's time in Unix seconds, as best known. */
  serverNow(): number {
    return Math.floor(Date.now() / 1000) + this.offsetSeconds;
  }

  /** Sends a request; any non-2xx answer becomes an `ApiError` with the server's code. */
  async send(path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.url(path), { ...init, credentials: "omit", cache: "no-store", redirect: "error" });
    } catch (e) {
      throw new NetworkError(`the server could not be reached (${e instanceof Error ? e.message : String(e)})`);
    }
    this.observeDate(response);
    if (response.ok) return response;
    let body: ErrorBody = {};
    try {
      body = (await response.json()) as ErrorBody;
    } catch {
      // Not JSON (a proxy's page, say): keep the status only.
    }
    const retryHeader = Number(response.headers.get("retry-after"));
    throw new ApiError(
      response.status,
      body.error?.code ?? `http_${response.status}`,
      body.error?.message ?? response.statusText,
      body.error?.retry_after ?? (Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : undefined),
      body.error?.current_version,
    );
  }

  /** Sends a request and decodes its JSON answer. */
  async json<T>(path: string, init: RequestInit): Promise<T> {
    const response = await this.send(path, init);
    return (await response.json()) as T;
  }

  private observeDate(response: Response): void {
    const date = response.headers.get("date");
    if (!date) return;
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // `Date` has one-second resolution; only correct clocks that are clearly off.
    const offset = Math.round((server - Date.now()) / 1000);
    this.offsetSeconds = Math.abs(offset) > 2 ? offset : 0;
  }
}
