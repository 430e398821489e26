// HTTP helpers for the kiosk: JSON in, JSON out; SPEC §11 errors become ApiError.

/**
 * A 4xx/5xx answer: `status`, `code` (the SPEC §11 error code), the server's `message`, and
 * `retryAfter`, the seconds of a `Retry-After` header (429 `rate_limited`, 503), or null.
 */
export class ApiError extends Error {
  constructor(status, code, message, body, retryAfter = null) {
    super(message || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

/**
 * The request never got an answer (offline, connection refused, aborted); `timedOut` when it was
 * given up after its `timeoutMs`.
 */
export class NetworkError extends Error {
  constructor(cause, { timedOut = false } = {}) {
    super(timedOut ? "no answer in time" : cause?.message || "network error");
    this.name = "NetworkError";
    this.cause = cause;
    this.timedOut = timedOut;
  }
}

async function request(method, path, body, { timeoutMs = null } = {}) {
  const controller = timeoutMs ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  let response;
  let data = null;
  try {
    try {
      response = await fetch(path, {
        method,
        headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "same-origin",
        signal: controller?.signal,
      });
    } catch (exc) {
      throw new NetworkError(exc, { timedOut: controller?.signal.aborted ?? false });
    }
    try {
      data = await response.json();
    } catch (exc) {
      if (controller?.signal.aborted) throw new NetworkError(exc, { timedOut: true }); // the body never came
      data = null; // not JSON (e.g. a proxy's error page)
    }
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (!response.ok) {
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    throw new ApiError(response.status, data?.error ?? null, data?.message ?? null, data,
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null);
  }
  return { status: response.status, data };
}

export async function getJson(path) {
  return (await request("GET", path)).data;
}

/** POST `body` as JSON; with `timeoutMs`, give up (NetworkError, `timedOut`) after that long. */
export async function postJson(path, body, { timeoutMs = null } = {}) {
  return request("POST", path, body, { timeoutMs });
}

export const paths = {
  pair: () => "/kiosk/api/pair",
  meeting: (mid) => `/api/meetings/${encodeURIComponent(mid)}`,
  vote: (mid, vid) => `/api/meetings/${encodeURIComponent(mid)}/votes/${encodeURIComponent(vid)}`,
  checkin: (mid) => `/api/meetings/${encodeURIComponent(mid)}/checkin`,
  ballots: (mid, vid) => `${paths.vote(mid, vid)}/ballots`,
  spoiled: (mid, vid) => `${paths.vote(mid, vid)}/spoiled`,
  result: (mid, vid) => `${paths.vote(mid, vid)}/result`,
  receipt: (mid, hash) => `/api/meetings/${encodeURIComponent(mid)}/receipts/${hash}`,
  entries: (mid, start, end) => `/api/meetings/${encodeURIComponent(mid)}/entries?start=${start}&end=${end}`,
  receiptPage: (mid, hash) => `/r/${encodeURIComponent(mid)}/${hash}`,
  qr: (data) => `/kiosk/qr.svg?data=${encodeURIComponent(data)}`,
};
