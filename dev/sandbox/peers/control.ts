import { z } from 'zod';
import { type FaultInjector, faultSpecSchema } from '../faults.js';
import { entraControlRoutes } from '../entra-control.js';
import { directoryControlRoutes } from '../graph-control.js';
import type { RequestLog } from '../request-log.js';
import type { Peer, PeerRequest, Reply, Route } from '../router.js';
import { describeTenant, type SandboxState, SandboxStateError } from '../state.js';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  callerTokenRequestSchema,
  type TokenIssuer,
  TokenRequestError,
} from '../tokens.js';

const nullableString = z.string().nullable().optional();

const newTenantSchema = z.strictObject({
  id: z.string().optional(),
  displayName: z.string().min(1),
  initialDomainPrefix: z.string().min(1).optional(),
  customDomains: z.array(z.string().min(1)).optional(),
  countryLetterCode: z.string().length(2).optional(),
});

const newUserSchema = z.strictObject({
  id: z.string().optional(),
  userPrincipalName: z.string().min(3),
  displayName: z.string().min(1),
  givenName: nullableString,
  surname: nullableString,
  mail: nullableString,
  jobTitle: nullableString,
  department: nullableString,
  officeLocation: nullableString,
  preferredLanguage: nullableString,
  usageLocation: nullableString,
  businessPhones: z.array(z.string()).optional(),
  mobilePhone: nullableString,
  accountEnabled: z.boolean().optional(),
  /** A password for the sandbox's sign-in page; never returned. */
  password: z.string().min(1).optional(),
  /** With a password: the Global Administrator role, which may consent for the organisation. */
  globalAdministrator: z.boolean().optional(),
});

const newApplicationSchema = z.strictObject({
  appId: z.string().optional(),
  displayName: z.string().min(1),
  homeTenantId: z.string().min(1),
  signInAudience: z.enum(['AzureADMyOrg', 'AzureADMultipleOrgs']).optional(),
  identifierUris: z.array(z.string().min(1)).optional(),
  redirectUris: z.array(z.string().min(1)).optional(),
  /** Per resource (appId or identifier URI): delegated `scopes` and app `roles` the app asks for. */
  requiredResourceAccess: z
    .record(
      z.string(),
      z.strictObject({
        scopes: z.array(z.string().min(1)).optional(),
        roles: z.array(z.string().min(1)).optional(),
      }),
    )
    .optional(),
  appRoles: z
    .array(
      z.strictObject({
        id: z.string().optional(),
        value: z.string().min(1),
        displayName: z.string().min(1),
        allowedMemberTypes: z.array(z.enum(['Application', 'User'])).min(1),
      }),
    )
    .optional(),
});

const newSecretSchema = z.strictObject({
  secretText: z.string().min(1).optional(),
  displayName: z.string().min(1).optional(),
  /** In the past for an expired secret. */
  endDateTime: z.iso.datetime().optional(),
});

const consentSchema = z.strictObject({
  appId: z.string().min(1),
  /** App-role values per resource identifier (appId or identifier URI). */
  grants: z.record(z.string(), z.array(z.string().min(1))).optional(),
});

/**
 * `/_sandbox`: what tests and the local start script use to look at and steer the simulated services. Its own
 * traffic is neither logged nor subject to faults.
 */
export function controlPeer(deps: {
  state: SandboxState;
  faults: FaultInjector;
  requests: RequestLog;
  issuer: TokenIssuer;
  reset(): void;
}): Peer {
  const { state, faults, requests, issuer } = deps;
  const routes: Route[] = [
    { method: 'GET', path: '/requests', handle: () => ok({ value: requests.list() }) },
    {
      method: 'DELETE',
      path: '/requests',
      handle: () => {
        requests.clear();
        return { status: 204 };
      },
    },
    { method: 'GET', path: '/faults', handle: () => ok({ value: faults.list() }) },
    {
      method: 'POST',
      path: '/faults',
      handle: (request) => ({ status: 201, body: faults.add(parseJson(request, faultSpecSchema)) }),
    },
    {
      method: 'DELETE',
      path: '/faults',
      handle: () => {
        faults.clear();
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/faults/:id',
      handle: (request) =>
        faults.remove(request.params.id ?? '')
          ? { status: 204 }
          : controlError(404, 'NotFound', `No fault '${request.params.id}'.`),
    },
    {
      method: 'GET',
      path: '/tenants',
      handle: () =>
        ok({
          value: state.tenants().map((t) => ({
            id: t.id,
            displayName: t.displayName,
            verifiedDomains: t.verifiedDomains.map((d) => d.name),
            userCount: t.users.size,
          })),
        }),
    },
    {
      method: 'POST',
      path: '/tenants',
      handle: (request) => {
        const tenant = state.addTenant(parseJson(request, newTenantSchema));
        return { status: 201, body: describeTenant(state, tenant) };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant',
      handle: (request) => ok(describeTenant(state, state.requireTenant(request.params.tenant ?? ''))),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users',
      handle: (request) => {
        const input = parseJson(request, z.union([newUserSchema, z.array(newUserSchema)]));
        const tenant = state.requireTenant(request.params.tenant ?? '');
        const added = (Array.isArray(input) ? input : [input]).map(
          ({ password, globalAdministrator, ...user }) => {
            const created = state.addUser(tenant.id, user);
            if (password) {
              state.entra.setCredentials(tenant.id, created.userPrincipalName, {
                password,
                globalAdministrator,
              });
            }
            return created;
          },
        );
        return { status: 201, body: { value: added } };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/consents',
      handle: (request) => {
        const input = parseJson(request, consentSchema);
        return { status: 201, body: state.consent(request.params.tenant ?? '', input.appId, input.grants) };
      },
    },
    {
      method: 'POST',
      path: '/applications',
      handle: (request) => {
        const { passwordCredentials: _none, ...application } = state.addApplication(
          parseJson(request, newApplicationSchema),
        );
        return { status: 201, body: application };
      },
    },
    {
      method: 'POST',
      path: '/applications/:appId/secrets',
      handle: (request) => ({
        status: 201,
        body: state.addSecret(request.params.appId ?? '', parseJson(request, newSecretSchema)),
      }),
    },
    {
      method: 'POST',
      path: '/tokens',
      handle: async (request) =>
        ok({
          token_type: 'Bearer',
          expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
          access_token: await issuer.callerToken(parseJson(request, callerTokenRequestSchema)),
        }),
    },
    ...entraControlRoutes(state, parseJson),
    ...directoryControlRoutes(state, parseJson),
    {
      method: 'POST',
      path: '/reset',
      handle: () => {
        deps.reset();
        return { status: 204 };
      },
    },
  ];
  return {
    name: 'control',
    prefix: '/_sandbox',
    error: (status, message) => controlError(status, status === 404 ? 'NotFound' : 'Error', message),
    routes: routes.map((route) => ({ ...route, handle: (request) => explainFailures(route, request) })),
  };
}

/** Turns refusals from validation, state and token issuing into 4xx replies instead of crashes. */
async function explainFailures(route: Route, request: PeerRequest): Promise<Reply> {
  try {
    return await route.handle(request);
  } catch (error) {
    if (error instanceof z.ZodError) return controlError(400, 'InvalidRequest', z.prettifyError(error));
    if (error instanceof SandboxStateError) return controlError(error.status, 'Refused', error.message);
    if (error instanceof TokenRequestError) return controlError(400, 'Refused', error.message);
    if (error instanceof SyntaxError) return controlError(400, 'InvalidJson', error.message);
    throw error;
  }
}

function parseJson<T extends z.ZodType>(request: PeerRequest, schema: T): z.output<T> {
  const text = request.body.toString('utf8');
  return schema.parse(text ? JSON.parse(text) : {});
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function controlError(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}
