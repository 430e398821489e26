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

/** The request never got an answer (offline, connection refused, aborted). */
export class NetworkError extends Error {
  constructor(cause) {
    super(cause?.message || "network error");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (exc) {
    throw new NetworkError(exc);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null; // not JSON (e.g. a proxy's error page)
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

export async function postJson(path, body) {
  return request("POST", path, body);
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
