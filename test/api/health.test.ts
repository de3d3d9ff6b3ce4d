import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthReportSchema } from '../../shared/ops/health.js';
import { apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

describe('GET /api/v1/health', () => {
  it('answers an anonymous probe that the process is up, and nothing more', async () => {
    const probe = await call('GET', '/api/v1/health', { token: null });
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ status: 'ok' });
    expect(probe.headers.get('cache-control')).toBe('no-store');
  });

  it('gives a caller without the provider-admin role the same liveness answer, not 403', async () => {
    for (const role of ['customer-admin', 'channel-admin']) {
      const answer = await call('GET', '/api/v1/health', { token: await stack.token({ roles: [role] }) });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok' });
    }
    const noRole = await call('GET', '/api/v1/health', { token: await stack.token({ roles: [] }) });
    expect(noRole.body).toEqual({ status: 'ok' });
  });

  it('gives a provider admin the detailed report (503 here: the memory stack has no storage to reach)', async () => {
    const answer = await call('GET', '/api/v1/health');
    expect(answer.status).toBe(503);
    const report = healthReportSchema.parse(answer.body);
    expect(report.status).toBe('failed');
    expect(report.checks.tableStorage.status).toBe('failed');
  });

  it('refuses an invalid or expired token with 401 rather than reading it as anonymous', async () => {
    const bad = await call('GET', '/api/v1/health', { token: 'not-a-token' });
    expect(bad.status).toBe(401);
    expect(bad.problem.code).toBe('unauthenticated');
    const expired = await call('GET', '/api/v1/health', {
      token: await stack.token({ expiresInSeconds: -60 }),
    });
    expect(expired.status).toBe(401);
  });
});
