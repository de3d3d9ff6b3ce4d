import type { ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, type Problem, problemType } from '../../shared/http/problem.js';

/** The host's own answers (no function ran, or it failed) follow the product's RFC 9457 convention. */
export type HostProblemCode =
  'route_not_found' | 'method_not_allowed' | 'payload_too_large' | 'internal_error';

const TITLES: Record<HostProblemCode, string> = {
  route_not_found: 'Route not found',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Payload too large',
  internal_error: 'Internal server error',
};

export function writeProblem(
  res: ServerResponse,
  status: number,
  code: HostProblemCode,
  headers: Readonly<Record<string, string>> = {},
): void {
  const problem: Problem = { type: problemType(code), title: TITLES[code], status, code };
  const body = Buffer.from(JSON.stringify(problem));
  res.writeHead(status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': String(body.length),
  });
  res.end(body);
}
