import { z } from 'zod';
import { consentMissing, recordConsent } from './entra-consent.js';
import { parseScopes } from './entra-scopes.js';
import type { PeerRequest, Reply, Route } from './router.js';
import { type SandboxState, SandboxStateError } from './state.js';

const approveSchema = z.strictObject({
  userCode: z.string().min(1),
  userPrincipalName: z.string().min(3),
  /** False declines, as Cancel on the consent page does. */
  accept: z.boolean().optional(),
});

const declineSchema = z.strictObject({ userCode: z.string().min(1) });

const timingSchema = z.strictObject({
  expiresInSeconds: z.number().int().min(0).optional(),
  intervalSeconds: z.number().int().min(0).optional(),
});

const revokeSchema = z.strictObject({ userPrincipalName: z.string().min(3).optional() });

const delegatedConsentSchema = z.strictObject({
  appId: z.string().min(1),
  /** Resource appIds or identifier URIs. */
  resources: z.array(z.string().min(1)).min(1),
});

const redirectUrisSchema = z.strictObject({ redirectUris: z.array(z.string().min(1)).min(1) });

const refreshTokenSchema = z.strictObject({
  tenantId: z.string().min(1),
  userPrincipalName: z.string().min(3),
  clientId: z.string().min(1),
  scope: z.string().min(1),
});

/**
 * `/_sandbox` routes for Entra ID's user flows: settle device codes without a browser, revoke and remove grants,
 * register redirect URIs, and mint refresh tokens for tests that start after a sign-in.
 */
export function entraControlRoutes(
  state: SandboxState,
  parseJson: <T extends z.ZodType>(request: PeerRequest, schema: T) => z.output<T>,
): Route[] {
  return [
    {
      method: 'POST',
      path: '/entra/device/approve',
      handle: (request) => {
        const input = parseJson(request, approveSchema);
        if (input.accept === false) return declined(state, input.userCode);
        return approve(state, input.userCode, input.userPrincipalName);
      },
    },
    {
      method: 'POST',
      path: '/entra/device/decline',
      handle: (request) => declined(state, parseJson(request, declineSchema).userCode),
    },
    {
      method: 'PUT',
      path: '/entra/device/settings',
      handle: (request) => ok(state.entra.setDeviceCodeTiming(parseJson(request, timingSchema))),
    },
    {
      method: 'POST',
      path: '/entra/refresh-tokens',
      handle: (request) => {
        const input = parseJson(request, refreshTokenSchema);
        const { tenant, user } = state.entra.requireUser(input.tenantId, input.userPrincipalName);
        if (!state.application(input.clientId)) {
          throw new SandboxStateError(404, `Application '${input.clientId}' does not exist.`);
        }
        const token = state.entra.issueRefreshToken({
          tenantId: tenant.id,
          userId: user.id,
          clientId: input.clientId.toLowerCase(),
          scope: input.scope,
        });
        return { status: 201, body: { refresh_token: token } };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/revoke-grants',
      handle: (request) => {
        const input = parseJson(request, revokeSchema);
        return ok({
          revokedUsers: state.entra.revokeGrants(request.params.tenant ?? '', input.userPrincipalName),
        });
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/delegated-consents',
      handle: (request) => {
        const input = parseJson(request, delegatedConsentSchema);
        const tenant = state.requireTenant(request.params.tenant ?? '');
        const application = state.application(input.appId);
        if (!application) throw new SandboxStateError(404, `Application '${input.appId}' does not exist.`);
        const parsed = parseScopes(state, input.resources.map((r) => `${r}/.default`).join(' '), {
          tenant,
          multipleResources: true,
        });
        if (!parsed.ok) throw new SandboxStateError(400, parsed.aadsts.message);
        recordConsent(state, tenant, application, parsed.scopes, { appRoles: false });
        return { status: 201, body: { value: state.entra.delegatedConsents(tenant.id) } };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/consents/:appId/resources/:resourceAppId',
      handle: (request) => {
        const { tenant = '', appId = '', resourceAppId = '' } = request.params;
        if (!state.entra.removeDelegatedConsent(tenant, appId, resourceAppId)) {
          throw new SandboxStateError(
            404,
            `'${appId}' has no delegated consent for '${resourceAppId}' in '${tenant}'.`,
          );
        }
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/applications/:appId/redirect-uris',
      handle: (request) =>
        ok({
          redirectUris: state.addRedirectUris(
            request.params.appId ?? '',
            parseJson(request, redirectUrisSchema).redirectUris,
          ),
        }),
    },
  ];
}

/**
 * What the browser pages do for a device code, in one call: the user signs in (no password needed here),
 * consent is recorded when missing (Global Administrators only, else 400 with AADSTS90094) and the code is
 * approved for the next poll.
 */
function approve(state: SandboxState, userCode: string, userPrincipalName: string): Reply {
  const code = state.entra.deviceCodeByUserCode(userCode);
  if (!code) throw new SandboxStateError(404, `No device code with user code '${userCode}'.`);
  const domain = userPrincipalName.split('@')[1] ?? '';
  const { tenant, user } = state.entra.requireUser(code.tenantId ?? domain, userPrincipalName);
  const application = state.application(code.clientId);
  if (!application) throw new SandboxStateError(404, `Application '${code.clientId}' does not exist.`);
  const parsed = parseScopes(state, code.scope, { tenant });
  if (!parsed.ok) throw new SandboxStateError(400, parsed.aadsts.message);
  if (consentMissing(state, tenant, application, parsed.scopes)) {
    if (!state.entra.isGlobalAdministrator(tenant.id, user.id)) {
      throw new SandboxStateError(
        400,
        `AADSTS90094: ${user.userPrincipalName} may not consent for the organisation.`,
      );
    }
    recordConsent(state, tenant, application, parsed.scopes, { appRoles: false });
  }
  state.entra.settleDeviceCode(code.userCode, { status: 'approved', tenantId: tenant.id, userId: user.id });
  return ok({ userCode: code.userCode, status: 'approved' });
}

function declined(state: SandboxState, userCode: string): Reply {
  const code = state.entra.settleDeviceCode(userCode, { status: 'declined' });
  return ok({ userCode: code.userCode, status: 'declined' });
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}
