/**
 * @module
 * The kube-apiserver's own counts, read from its `/metrics`: requests by verb and resource
 * (`apiserver_request_total`) and the watches open (`apiserver_longrunning_requests{verb="WATCH"}`).
 * The scale benchmark takes two readings and counts the difference.
 */

/** One reading. */
export interface ApiReading {
  /** `VERB resource[/subresource]` -> requests so far (resource requests only, not `/metrics` itself). */
  readonly requests: ReadonlyMap<string, number>;
  /** `resource` -> watches open now. */
  readonly watches: ReadonlyMap<string, number>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY']);

function labels(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/(\w+)="([^"]*)"/g)) out.set(m[1]!, m[2]!);
  return out;
}

/** Parses the text exposition format of `/metrics`. */
export function parseApiMetrics(text: string): ApiReading {
  const requests = new Map<string, number>();
  const watches = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(apiserver_request_total|apiserver_longrunning_requests)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const l = labels(m[2]!);
    const resource = l.get('resource') ?? '';
    if (!resource) continue;
    const value = Number(m[3]);
    if (m[1] === 'apiserver_request_total') {
      const sub = l.get('subresource');
      const key = `${l.get('verb')} ${resource}${sub ? `/${sub}` : ''}`;
      requests.set(key, (requests.get(key) ?? 0) + value);
    } else if (l.get('verb') === 'WATCH') {
      watches.set(resource, (watches.get(resource) ?? 0) + value);
    }
  }
  return { requests, watches };
}

/** Requests between two readings, `VERB resource` -> count (only those that changed). */
export function requestsBetween(before: ApiReading, after: ApiReading): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, n] of after.requests) {
    const d = n - (before.requests.get(key) ?? 0);
    if (d > 0) out.set(key, d);
  }
  return out;
}

/** The writes among `requests` (POST, PUT, PATCH, DELETE), leaving out the resources in `except`. */
export function writes(requests: ReadonlyMap<string, number>, except: readonly string[] = []): number {
  let n = 0;
  for (const [key, count] of requests) {
    const [verb, resource] = key.split(' ');
    if (MUTATING.has(verb ?? '') && !except.includes((resource ?? '').split('/')[0]!)) n += count;
  }
  return n;
}

/** `requests` as `VERB resource: n` sorted by count, for a note. */
export function describeRequests(requests: ReadonlyMap<string, number>, scale = 1): string {
  return [...requests]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key}: ${Math.round(n * scale)}`)
    .join(', ');
}
