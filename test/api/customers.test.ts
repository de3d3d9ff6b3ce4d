import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, apiClient } from '../support/api-client.js';
import { type MemoryStack, startMemoryStack } from '../support/memory-stack.js';

let stack: MemoryStack;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startMemoryStack();
  call = apiClient(stack.api, () => stack.token());
});
afterAll(() => stack?.close());

const pro = (shortName: string, extra: Record<string, unknown> = {}) => ({
  fullName: `${shortName} Ltd`,
  shortName,
  licenseType: 'hosted-pro',
  licensedUsers: 10,
  ...extra,
});

/** Every customer and the license summary: what a write would change. */
async function snapshot() {
  const customers: unknown[] = [];
  let next: string | null = '/api/v1/customers?top=100';
  let summary: unknown;
  while (next) {
    const page: ApiResponse = await call('GET', next);
    expect(page.status).toBe(200);
    const body = page.body as {
      value: unknown[];
      nextLink: string | null;
      availableUsers: number;
      availableCustomers: number;
    };
    customers.push(...body.value);
    summary = { availableUsers: body.availableUsers, availableCustomers: body.availableCustomers };
    next = body.nextLink;
  }
  return { customers, summary };
}

async function expectRejectedWithoutWrite(
  request: () => Promise<ApiResponse>,
  status: number,
  code: string,
  fieldCode?: string,
): Promise<ApiResponse> {
  const before = await snapshot();
  const response = await request();
  expect(response.status).toBe(status);
  expect(response.contentType).toBe('application/problem+json');
  expect(response.problem.code).toBe(code);
  expect(response.problem.status).toBe(status);
  if (fieldCode) expect(response.problem.errors?.map((e) => e.code)).toContain(fieldCode);
  expect(await snapshot()).toEqual(before);
  return response;
}

describe('Short Name', () => {
  it.each([
    ['Ab', 400],
    ['Abc', 201],
    ['A23456789012345', 201],
    ['A234567890123456', 400],
  ])('%s (%#) at the 3-15 boundary', async (shortName, status) => {
    if (status === 201) {
      const response = await call('POST', '/api/v1/customers', { json: pro(shortName) });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        id: shortName,
        shortName,
        state: 'ready-for-deployment',
        lastReplicationAt: null,
      });
    } else {
      const response = await expectRejectedWithoutWrite(
        () => call('POST', '/api/v1/customers', { json: pro(shortName) }),
        400,
        'validation_failed',
        'short_name_length',
      );
      expect(response.problem.errors?.[0]).toMatchObject({
        field: 'shortName',
        message: expect.stringContaining('3-15 characters'),
      });
    }
  });

  it.each(['\\', '/', ':', '*', '?', '"', '<', '>', '|'])(
    'refuses the forbidden character %s',
    async (character) => {
      const response = await expectRejectedWithoutWrite(
        () => call('POST', '/api/v1/customers', { json: pro(`Ab${character}cd`) }),
        400,
        'validation_failed',
        'short_name_forbidden_character',
      );
      expect(response.problem.errors?.find((e) => e.field === 'shortName')?.message).toContain(
        'cannot be used',
      );
    },
  );

  it('refuses a dot and a blank space, each with its own message', async () => {
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('con.toso') }),
      400,
      'validation_failed',
      'short_name_dot',
    );
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('con toso') }),
      400,
      'validation_failed',
      'short_name_space',
    );
  });

  it('reserves "audit" in any case but allows names that merely contain it', async () => {
    for (const name of ['audit', 'AUDIT', 'Audit']) {
      await expectRejectedWithoutWrite(
        () => call('POST', '/api/v1/customers', { json: pro(name) }),
        400,
        'validation_failed',
        'short_name_reserved',
      );
    }
    expect((await call('POST', '/api/v1/customers', { json: pro('Auditors') })).status).toBe(201);
  });

  it("must be a DNS label, because it becomes the trunk FQDN's first label", async () => {
    for (const name of ['con_toso', '-contoso', 'contoso-', 'café', 'a&b-corp']) {
      await expectRejectedWithoutWrite(
        () => call('POST', '/api/v1/customers', { json: pro(name) }),
        400,
        'validation_failed',
        'short_name_not_dns_label',
      );
    }
    expect((await call('POST', '/api/v1/customers', { json: pro('north-wind') })).status).toBe(201);
  });

  it('is unique without regard to case', async () => {
    expect((await call('POST', '/api/v1/customers', { json: pro('Contoso') })).status).toBe(201);
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('contoso') }),
      409,
      'short_name_taken',
    );
    expect(response.problem.detail).toContain('Contoso');
  });

  it('lets exactly one of two simultaneous creates of Fabrikam and fabrikam win', async () => {
    for (const suffix of ['1', '2', '3', '4', '5']) {
      const responses = await Promise.all([
        call('POST', '/api/v1/customers', { json: pro(`Fabrikam${suffix}`, { licensedUsers: 7 }) }),
        call('POST', '/api/v1/customers', { json: pro(`fabrikam${suffix}`, { licensedUsers: 9 }) }),
      ]);
      expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(responses.find((r) => r.status === 409)?.problem.code).toBe('short_name_taken');
      const listed = await call('GET', `/api/v1/customers?search=fabrikam${suffix}`);
      expect((listed.body as { value: unknown[] }).value).toHaveLength(1);
    }
  });
});

describe('Full Name, License Type and Licensed Users', () => {
  it('trims the Full Name and refuses it empty or over 256 characters', async () => {
    const created = await call('POST', '/api/v1/customers', {
      json: pro('Trimmed', { fullName: '  Trimmed Corp  ' }),
    });
    expect(created.body).toMatchObject({ fullName: 'Trimmed Corp' });
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('Blank', { fullName: '   ' }) }),
      400,
      'validation_failed',
      'too_short',
    );
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('Longname', { fullName: 'x'.repeat(257) }) }),
      400,
      'validation_failed',
      'too_long',
    );
    expect(
      (await call('POST', '/api/v1/customers', { json: pro('Maxname', { fullName: 'x'.repeat(256) }) }))
        .status,
    ).toBe(201);
  });

  it.each([
    [0, 400, 'too_small'],
    [1, 201, null],
    [500, 201, null],
    [501, 400, 'too_big'],
    [undefined, 400, 'required'],
    [2.5, 400, 'not_integer'],
    ['10', 400, 'invalid_type'],
  ])('Licensed Users %s for Hosted Pro', async (licensedUsers, status, fieldCode) => {
    const shortName = `Lu${String(licensedUsers).replace(/\W/g, '').slice(0, 6)}${status}`;
    const json = { ...pro(shortName), licensedUsers };
    if (status === 201) {
      const response = await call('POST', '/api/v1/customers', { json });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ licensedUsers });
      return;
    }
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json }),
      400,
      'validation_failed',
      fieldCode ?? undefined,
    );
    if (licensedUsers === 501) {
      expect(response.problem.errors?.[0]?.message).toBe(
        'A maximum of 500 users can be configured per customer.',
      );
    }
  });

  it('requires Licensed Users for Hosted Essentials + too, and has none for Hosted Essentials', async () => {
    await expectRejectedWithoutWrite(
      () =>
        call('POST', '/api/v1/customers', {
          json: { fullName: 'Plus', shortName: 'PlusCo', licenseType: 'hosted-essentials-plus' },
        }),
      400,
      'validation_failed',
      'required',
    );
    const essentials = await call('POST', '/api/v1/customers', {
      json: { fullName: 'Ess', shortName: 'EssCo', licenseType: 'hosted-essentials' },
    });
    expect(essentials.status).toBe(201);
    expect(essentials.body).toMatchObject({ licenseType: 'hosted-essentials', licensedUsers: 0 });
    await expectRejectedWithoutWrite(
      () =>
        call('POST', '/api/v1/customers', {
          json: { fullName: 'Ess', shortName: 'EssCo2', licenseType: 'hosted-essentials', licensedUsers: 5 },
        }),
      400,
      'validation_failed',
      'licensed_users_not_applicable',
    );
  });

  it('refuses an unknown License Type and unknown fields', async () => {
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('Typo', { licenseType: 'Hosted Premium' }) }),
      400,
      'validation_failed',
      'not_allowed',
    );
    expect(response.problem.errors?.[0]?.message).toContain('hosted-essentials-plus');
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('Extra', { tenantId: 'x' }) }),
      400,
      'validation_failed',
      'unknown_field',
    );
  });

  it('reports every invalid field of a form at once', async () => {
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: { shortName: 'a.', licenseType: 'hosted-pro' } }),
      400,
      'validation_failed',
    );
    expect(response.problem.errors?.map((e) => `${e.field}:${e.code}`).sort()).toEqual([
      'fullName:required',
      'licensedUsers:required',
      'shortName:short_name_dot',
      'shortName:short_name_length',
    ]);
  });
});

describe('HTTP conventions', () => {
  it('answers 401 without a token, with an expired one, or one for another audience, and 403 without the role', async () => {
    const body = { json: pro('Authz') };
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { ...body, token: null }),
      401,
      'unauthenticated',
    );
    const expired = await stack.token({ expiresInSeconds: -120 });
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { ...body, token: expired }),
      401,
      'unauthenticated',
    );
    expect(response.problem.detail).toContain('expired');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const otherAudience = await stack.token({ audience: 'api://someone-else' });
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { ...body, token: otherAudience }),
      401,
      'unauthenticated',
    );
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { ...body, token: 'not-a-jwt' }),
      401,
      'unauthenticated',
    );
    const noRole = await stack.token({ roles: [] });
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { ...body, token: noRole }),
      403,
      'forbidden',
    );
    expect((await call('GET', '/api/v1/customers', { token: noRole })).status).toBe(403);
  });

  it('answers 400 to malformed JSON, 415 to another content type, 413 above 1 MB', async () => {
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { body: '{"fullName": "x",', contentType: 'application/json' }),
      400,
      'malformed_json',
    );
    await expectRejectedWithoutWrite(
      () =>
        call('POST', '/api/v1/customers', { body: JSON.stringify(pro('Texty')), contentType: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    await expectRejectedWithoutWrite(
      () =>
        call('POST', '/api/v1/customers', {
          body: JSON.stringify(pro('Formy')),
          contentType: 'application/x-www-form-urlencoded',
        }),
      415,
      'unsupported_media_type',
    );
    const huge = JSON.stringify(pro('Huge', { fullName: 'x'.repeat(1024 * 1024) }));
    await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { body: huge, contentType: 'application/json' }),
      413,
      'payload_too_large',
    );
    const justUnder = JSON.stringify(
      pro('Padded', { fullName: `${'y'.repeat(200)}${' '.repeat(1024 * 1024 - 400)}` }),
    );
    expect(Buffer.byteLength(justUnder)).toBeLessThan(1024 * 1024);
    expect(
      (await call('POST', '/api/v1/customers', { body: justUnder, contentType: 'application/json' })).status,
    ).toBe(201);
  });

  it('answers 415 to a body without Content-Type, as to any other type', async () => {
    const response = await expectRejectedWithoutWrite(
      () =>
        call('POST', '/api/v1/customers', { body: new TextEncoder().encode(JSON.stringify(pro('Untyped'))) }),
      415,
      'unsupported_media_type',
    );
    expect(response.problem.detail).toMatch(/no Content-Type/);
  });

  it('answers 400 to a field named twice instead of keeping the last', async () => {
    const body = `{"fullName":"Twice Ltd","shortName":"Twice","licenseType":"hosted-pro","licensedUsers":10,"licensedUsers":10000}`;
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { body, contentType: 'application/json' }),
      400,
      'validation_failed',
      'duplicate_field',
    );
    expect(response.problem.errors?.[0]).toMatchObject({ field: 'licensedUsers', in: 'body' });
  });

  it.each([
    ['a right-to-left override', 'Contoso \u202Eetib\u202C Ltd'],
    ['an isolate', 'Contoso \u2067Ltd\u2069'],
    ['a lone surrogate', 'Contoso \uD800 Ltd'],
  ])('refuses a Full Name with %s: it could spoof the name on the consent page', async (_what, fullName) => {
    // JSON.stringify escapes a lone surrogate as \ud800, which JSON.parse turns back into one.
    const response = await expectRejectedWithoutWrite(
      () => call('POST', '/api/v1/customers', { json: pro('Spoofy', { fullName }) }),
      400,
      'validation_failed',
      'unsafe_characters',
    );
    expect(response.problem.errors?.[0]).toMatchObject({ field: 'fullName', in: 'body' });
  });

  it('answers 404 problem+json for a customer that does not exist or cannot exist', async () => {
    for (const id of ['nobody', 'a.b']) {
      const response = await call('GET', `/api/v1/customers/${id}`);
      expect(response.status).toBe(404);
      expect(response.contentType).toBe('application/problem+json');
      expect(response.problem.code).toBe('not_found');
    }
  });
});

describe('list, get, edit and delete', () => {
  it('searches, pages with nextLink and reports the licenses available', async () => {
    for (const n of ['1', '2', '3', '4', '5']) {
      expect(
        (
          await call('POST', '/api/v1/customers', {
            json: pro(`Pagey${n}`, { fullName: `Paging Corp ${n}` }),
          })
        ).status,
      ).toBe(201);
    }
    const seen: string[] = [];
    let next: string | null = '/api/v1/customers?search=paging%20corp&top=2';
    let pages = 0;
    while (next) {
      const page = await call('GET', next);
      const body = page.body as { value: Array<{ shortName: string }>; nextLink: string | null };
      expect(body.value.length).toBeLessThanOrEqual(2);
      seen.push(...body.value.map((c) => c.shortName));
      next = body.nextLink;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['Pagey1', 'Pagey2', 'Pagey3', 'Pagey4', 'Pagey5']);
    const bad = await call('GET', '/api/v1/customers?top=0');
    expect(bad.status).toBe(400);
    expect(bad.problem.errors?.[0]).toMatchObject({ field: 'top', in: 'query' });
    expect((await call('GET', '/api/v1/customers?cursor=%25%25')).status).toBe(400);
  });

  it('answers 400 to an unknown query parameter, naming it, rather than ignoring it', async () => {
    for (const [query, field] of [
      ['%24top=2', '$top'],
      ['top=2&filter=x', 'filter'],
      ['Top=2', 'Top'],
    ] as const) {
      const answer = await call('GET', `/api/v1/customers?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.problem.code).toBe('validation_failed');
      expect(answer.problem.errors).toEqual([
        expect.objectContaining({ field, in: 'query', code: 'unknown_field' }),
      ]);
    }
    // A misspelt dryRun must not delete for real.
    const created = await call('POST', '/api/v1/customers', { json: pro('Kept') });
    expect(created.status).toBe(201);
    const misspelt = await call('DELETE', '/api/v1/customers/Kept?dryrun=true');
    expect(misspelt.status).toBe(400);
    expect(misspelt.problem.errors?.[0]).toMatchObject({ field: 'dryrun', in: 'query' });
    expect((await call('GET', '/api/v1/customers/Kept')).status).toBe(200);
  });

  it('edits Licensed Users within the limits and versions the customer with ETags', async () => {
    const created = await call('POST', '/api/v1/customers', { json: pro('Editable') });
    const etag = created.headers.get('etag');
    // Strong: If-Match compares strongly, and a weak tag would never match (RFC 9110).
    expect(etag).toMatch(/^"[^"]+"$/);
    const before = (await snapshot()).summary as { availableUsers: number };
    const edited = await call('PATCH', '/api/v1/customers/editable', {
      json: { licensedUsers: 500 },
      headers: { 'if-match': etag ?? '' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ shortName: 'Editable', licensedUsers: 500 });
    expect(((await snapshot()).summary as { availableUsers: number }).availableUsers).toBe(
      before.availableUsers - 490,
    );
    await expectRejectedWithoutWrite(
      () =>
        call('PATCH', '/api/v1/customers/Editable', {
          json: { licensedUsers: 3 },
          headers: { 'if-match': etag ?? '' },
        }),
      412,
      'precondition_failed',
    );
    for (const [licensedUsers, code] of [
      [501, 'too_big'],
      [0, 'too_small'],
    ] as const) {
      await expectRejectedWithoutWrite(
        () => call('PATCH', '/api/v1/customers/Editable', { json: { licensedUsers } }),
        400,
        'validation_failed',
        code,
      );
    }
    expect((await call('GET', '/api/v1/customers/EDITABLE')).body).toMatchObject({ licensedUsers: 500 });
  });

  it('moves a deleted customer to "Ready for remove", removes it with its task, and returns its licenses', async () => {
    await call('POST', '/api/v1/customers', { json: pro('Leaving') });
    const held = (await call('GET', '/api/v1/customers')).body as {
      availableCustomers: number;
      availableUsers: number;
    };
    const deleted = await call('DELETE', '/api/v1/customers/Leaving');
    expect(deleted.status).toBe(202);
    expect(deleted.body).toMatchObject({ state: 'ready-for-remove' });
    const location = deleted.headers.get('location') ?? '';
    expect(location).toMatch(/^\/api\/v1\/tasks\/[0-9A-Z]{26}$/);
    const again = await call('DELETE', '/api/v1/customers/Leaving');
    expect([202, 404]).toContain(again.status);
    if (again.status === 202) expect(again.headers.get('location')).toBe(location);
    let state = '';
    for (let i = 0; i < 300 && state !== 'finish-success'; i++) {
      state = ((await call('GET', location)).body as { state: string }).state;
      if (state !== 'finish-success') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(state).toBe('finish-success');
    expect((await call('GET', '/api/v1/customers/Leaving')).status).toBe(404);
    const freed = (await call('GET', '/api/v1/customers')).body as {
      availableCustomers: number;
      availableUsers: number;
    };
    expect(freed.availableCustomers).toBe(held.availableCustomers + 1);
    expect(freed.availableUsers).toBe(held.availableUsers + pro('Leaving').licensedUsers);
  });
});
