export interface ApiResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: Headers;
  readonly body: unknown;
  /** The body as problem details, for assertions on errors. */
  readonly problem: {
    code: string;
    status: number;
    title: string;
    detail?: string;
    errors?: Array<{ field: string; code: string; message: string; allowed?: string[] }>;
    task?: string;
  };
}

/** Where the API answers: a host over real HTTP, or the app in process (test/support/memory-stack.ts). */
export interface ApiTarget {
  readonly url: string;
  readonly fetch: typeof globalThis.fetch;
}

/** A minimal caller of the product's API, as the provider portal would be. */
export function apiClient(target: string | ApiTarget, defaultToken?: () => Promise<string>) {
  const { url: baseUrl, fetch } =
    typeof target === 'string' ? { url: target, fetch: globalThis.fetch } : target;
  return async function call(
    method: string,
    path: string,
    options: {
      json?: unknown;
      body?: string | Uint8Array;
      contentType?: string;
      token?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? await defaultToken?.() : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    if (options.contentType) headers['content-type'] = options.contentType;
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: the test sees the text.
    }
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      headers: response.headers,
      body: parsed,
      problem: parsed as ApiResponse['problem'],
    };
  };
}
