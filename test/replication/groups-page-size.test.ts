import { describe, expect, it } from 'vitest';
import { createM365Reader, GROUPS_PAGE_SIZE } from '../../shared/replication/m365-reader.js';

/**
 * The groups' delta carries each group's members (a large group repeats over many items): a page of the users'
 * 999 items could hold a whole directory's memberships at once, so the reader asks for pages of at most
 * GROUPS_PAGE_SIZE items, on the first request and on every nextLink.
 */

const GRAPH = 'https://graph.example/v1.0';

function recordingReader() {
  const asked: Array<{ url: string; prefer: string | null }> = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    asked.push({ url: request.url, prefer: request.headers.get('prefer') });
    const first = !request.url.includes('skiptoken');
    const body = {
      value: [{ id: `group-${asked.length}`, displayName: 'Sales', 'members@delta': [{ id: 'user-1' }] }],
      ...(first
        ? { '@odata.nextLink': `${GRAPH}/groups/delta?$skiptoken=next` }
        : { '@odata.deltaLink': `${GRAPH}/groups/delta?$deltatoken=done` }),
    };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof globalThis.fetch;
  const reader = createM365Reader({
    graphBaseUrl: GRAPH,
    teamsAdminBaseUrl: 'https://teams.example',
    credential: { getToken: async () => ({ token: 'token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    transport: { fetch },
  });
  return { reader, asked };
}

describe("the groups' delta pages", () => {
  it(`ask for at most ${GROUPS_PAGE_SIZE} items, however large the cycle's page size`, async () => {
    const { reader, asked } = recordingReader();
    const first = await reader.groupsDelta(null, 999);
    expect(first.nextLink).not.toBeNull();
    const second = await reader.groupsDelta(first.nextLink, 999);
    expect(second.deltaLink).toContain('deltatoken');
    expect(asked.map((a) => a.prefer)).toEqual([
      `odata.maxpagesize=${GROUPS_PAGE_SIZE}`,
      `odata.maxpagesize=${GROUPS_PAGE_SIZE}`,
    ]);
    expect(asked[0]?.url).toContain('/groups/delta');
  });

  it('ask for fewer when the cycle asks for fewer', async () => {
    const { reader, asked } = recordingReader();
    await reader.groupsDelta(null, 20);
    expect(asked.map((a) => a.prefer)).toEqual(['odata.maxpagesize=20']);
  });
});
