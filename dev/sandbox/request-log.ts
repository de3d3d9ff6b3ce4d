/** One request the sandbox's simulated services received. Bodies are never kept: they carry secrets. */
export interface LoggedRequest {
  readonly seq: number;
  /** When it arrived, ISO 8601. */
  readonly time: string;
  readonly method: string;
  readonly path: string;
  /** The query string with credential-like parameters blanked. */
  readonly query: string;
  /** The status sent, or null when a fault dropped the connection. */
  readonly status: number | null;
  readonly durationMs: number;
  /** The injected fault that shaped the response, if any. */
  readonly fault?: 'status' | 'latency' | 'drop';
}

const SECRET_PARAMS = new Set([
  'client_secret',
  'client_assertion',
  'code',
  'code_verifier',
  'refresh_token',
  'access_token',
  'id_token',
  'device_code',
  'password',
]);

/** Bounded so that a long local run does not grow without limit. */
const CAPACITY = 10_000;

export class RequestLog {
  private entries: LoggedRequest[] = [];
  private seq = 0;

  record(entry: Omit<LoggedRequest, 'seq' | 'query'> & { readonly search: string }): void {
    const { search, ...rest } = entry;
    this.entries.push({ seq: ++this.seq, ...rest, query: redact(search) });
    if (this.entries.length > CAPACITY) this.entries.splice(0, this.entries.length - CAPACITY);
  }

  list(): readonly LoggedRequest[] {
    return this.entries;
  }

  clear(): void {
    this.entries = [];
  }
}

function redact(search: string): string {
  if (!search) return '';
  const params = new URLSearchParams(search);
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAMS.has(key.toLowerCase())) params.set(key, 'REDACTED');
  }
  return `?${decodeURIComponent(params.toString())}`;
}
