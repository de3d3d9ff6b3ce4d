/**
 * The paths whose every segment after the prefix is a bearer credential: an invitation link id
 * (`/authenticate/{linkId}`), and the OAuth callback whose query carries the authorization code and `state`.
 */
const CREDENTIAL_PATH = /^\/(?:api\/)?authenticate(?:\/|$)/i;
const REMOVED = '/authenticate/[removed]';

/** URL-valued span attributes, in the current and the older OpenTelemetry semantic conventions. */
const URL_ATTRIBUTES = ['url.full', 'http.url'] as const;
const PATH_ATTRIBUTES = ['url.path', 'http.target', 'http.route'] as const;
const QUERY_ATTRIBUTES = ['url.query'] as const;

function pathOf(value: string): string | null {
  if (value.startsWith('/')) return value.split(/[?#]/, 1)[0] ?? value;
  return URL.canParse(value) ? new URL(value).pathname : null;
}

/** `value` with a credential path replaced (and its query dropped), or null when it names no such path. */
export function scrubUrl(value: string): string | null {
  const path = pathOf(value);
  if (path === null || !CREDENTIAL_PATH.test(path)) return null;
  return value.startsWith('/') ? REMOVED : `${new URL(value).origin}${REMOVED}`;
}

/** The part of a span a processor may rewrite when it starts. */
export interface ScrubbableSpan {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  setAttribute(key: string, value: string): unknown;
  updateName(name: string): unknown;
}

/**
 * A span processor for the OpenTelemetry distro: a span about an `/authenticate/*` request (incoming or outgoing)
 * keeps neither its path nor its query, so Application Insights never holds a usable invitation link or OAuth code.
 */
export function credentialUrlScrubber() {
  return {
    onStart(span: ScrubbableSpan): void {
      let scrubbed = false;
      for (const key of [...URL_ATTRIBUTES, ...PATH_ATTRIBUTES]) {
        const value = span.attributes[key];
        const replacement = typeof value === 'string' ? scrubUrl(value) : null;
        if (replacement !== null) {
          span.setAttribute(key, replacement);
          scrubbed = true;
        }
      }
      if (!scrubbed) return;
      for (const key of QUERY_ATTRIBUTES) if (span.attributes[key] !== undefined) span.setAttribute(key, '');
      const [method, target] = span.name.split(' ', 2);
      if (target !== undefined && scrubUrl(target) !== null) span.updateName(`${method} ${REMOVED}`);
    },
    onEnd(): void {},
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
