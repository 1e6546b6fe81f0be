// The dashboard's only way to the server: the public JSON API.
//
// A 503 from an analytic means it is warming up (the store is loading or its first pass
// is running): we report it and retry after the server's Retry-After. Every answer's Age
// and Last-Modified are kept, so the shell can say how old each snapshot is.

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

export class Aborted extends Error {}

const DEFAULT_RETRY_S = 5;
const MAX_RETRY_S = 60;

/** The URL of `path` with the non-empty entries of `query` as its query string. */
export function apiUrl(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Seconds of a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(header) {
  if (!header) return DEFAULT_RETRY_S;
  const n = Number(header);
  if (Number.isFinite(n)) return Math.min(MAX_RETRY_S, Math.max(1, n));
  const when = Date.parse(header);
  if (Number.isNaN(when)) return DEFAULT_RETRY_S;
  return Math.min(MAX_RETRY_S, Math.max(1, (when - Date.now()) / 1000));
}

/** How old a response's snapshot is, in seconds, from Age (or Last-Modified), or null. */
export function snapshotAge(response) {
  const age = response.headers.get("Age");
  if (age !== null && age !== "" && Number.isFinite(Number(age))) return Number(age);
  const modified = response.headers.get("Last-Modified");
  if (modified) {
    const t = Date.parse(modified);
    if (!Number.isNaN(t)) return Math.max(0, (Date.now() - t) / 1000);
  }
  return null;
}

function wait(seconds, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted());
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Aborted());
    }, { once: true });
  });
}

/**
 * A client bound to one view's render: `get` rejects with Aborted once `signal` aborts.
 * `onWarming(path, seconds)` is called before each wait on a 503; `onMeta(meta)` after each
 * good answer with {path, url, ageSec, lastModified, filtered}.
 */
export function client({ signal, onWarming, onMeta }) {
  async function get(path, query) {
    const url = apiUrl(path, query);
    for (;;) {
      let response;
      try {
        response = await fetch(url, { signal, headers: { Accept: "application/json" } });
      } catch (err) {
        if (signal?.aborted) throw new Aborted();
        throw new ApiError(0, `could not reach the server (${err.message})`, path);
      }
      if (response.status === 503) {
        const seconds = retryAfterSeconds(response.headers.get("Retry-After"));
        await response.body?.cancel();
        onWarming?.(path, seconds);
        await wait(seconds, signal);
        continue;
      }
      let body;
      try {
        body = await response.json();
      } catch (err) {
        if (signal?.aborted) throw new Aborted();
        throw new ApiError(response.status, `bad JSON from ${path}`, path);
      }
      if (!response.ok) {
        const message = body && typeof body.error === "string" ? body.error : response.statusText;
        throw new ApiError(response.status, message, path);
      }
      onMeta?.({
        path,
        url,
        ageSec: snapshotAge(response),
        lastModified: response.headers.get("Last-Modified"),
        filtered: url !== path,
      });
      return body;
    }
  }
  return { get };
}
