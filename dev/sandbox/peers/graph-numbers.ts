import { GraphFailure, SKU_CATALOGUE } from '../graph-directory.js';
import type { PeerRequest, Reply, Route } from '../router.js';
import { findUser, type SandboxState, type Tenant } from '../state.js';
import type { TeamsAdminState } from '../teams-state.js';
import { ScaleDirectory } from '../scale-tenant.js';
import type { TenantDirectories } from '../tenant-directory.js';
import type { AssignedNumber, NumberOperationView } from '../teams-voice.js';
import { context, type Guard, ok, requestIds } from './graph-odata.js';

/**
 * Graph v1.0 Teams number management (`admin/teams/telephoneNumberManagement`, contracts/graph/cleanMetadata.xml):
 * the bound actions `numberAssignments/assignNumber` and `unassignNumber` answer 202 with a `Location` to the
 * long-running `operations/{id}`, which goes notStarted → running → succeeded | failed. A malformed request or an
 * unknown target is refused at once; a number held by someone else, outside the tenant's Direct Routing numbers
 * or a user without Phone System fails the operation, with the reason in `numbers[].statusDetail`.
 *
 * A scale tenant (dev/sandbox/scale-tenant.ts) takes the same actions for its generated users: Phone System is
 * its voice users', and a succeeded operation writes the number into its overlay. Its generated numbers
 * (`+1555…`) are not known as held: give it Direct Routing numbers outside them.
 */
const PERMISSIONS = {
  write: ['TeamsTelephoneNumber.ReadWrite.All'],
  read: ['TeamsTelephoneNumber.Read.All', 'TeamsTelephoneNumber.ReadWrite.All'],
} as const;

const BASE = '/v1.0/admin/teams/telephoneNumberManagement';
const NUMBER = /^\+?\d{7,15}(;ext=\d{1,10})?$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER_TYPES = ['directRouting', 'callingPlan', 'operatorConnect'];
const CATEGORIES: ReadonlyArray<AssignedNumber['assignmentCategory']> = ['primary', 'private', 'alternate'];
const MCOEV_PLAN = 'MCOEV';

export function numberManagementRoutes(
  state: SandboxState,
  teams: TeamsAdminState,
  directories: TenantDirectories,
  guarded: Guard,
): Route[] {
  const { voice } = teams;
  /** A generated tenant's directory (its users and their Teams side); undefined for an ordinary tenant. */
  const generated = (tenant: Tenant): ScaleDirectory | undefined => {
    const directory = directories.generatedFor(tenant.id);
    if (directory === undefined || directory instanceof ScaleDirectory) return directory;
    throw new GraphFailure(
      501,
      'NotImplemented',
      'The sandbox manages numbers of ordinary and scale tenants only, not of this generated tenant.',
    );
  };
  /** A scale tenant's users show their numbers from its overlay: the operation's end writes them there. */
  const committed = (scale: ScaleDirectory | undefined) =>
    scale
      ? {
          committed: (userId: string, numbers: readonly AssignedNumber[]) => {
            if (!scale.user(userId)) return;
            const primary = numbers.find((n) => n.assignmentCategory === 'primary') ?? numbers[0];
            scale.updateTeams(userId, {
              telephoneNumber: primary?.telephoneNumber ?? null,
              ...(primary ? { enterpriseVoiceEnabled: true } : {}),
            });
          },
        }
      : {};
  const accepted = (request: PeerRequest, tenant: Tenant, operation: NumberOperationView): Reply => ({
    status: 202,
    headers: {
      ...requestIds(request),
      location: `${request.origin}/graph${BASE}/operations/${operation.id}`,
      'retry-after': String(retryAfterSeconds(voice.remainingMs(tenant.id, operation.id))),
    },
  });

  return [
    {
      method: 'POST',
      path: `${BASE}/numberAssignments/assignNumber`,
      handle: guarded(PERMISSIONS.write, (request, tenant) => {
        const scale = generated(tenant);
        const body = jsonBody(request);
        const telephoneNumber = requireNumber(body.telephoneNumber);
        requireNumberType(body.numberType, true);
        const targetId = body.assignmentTargetId;
        if (typeof targetId !== 'string' || targetId === '') throw missing('assignmentTargetId');
        const category = body.assignmentCategory ?? 'primary';
        if (!CATEGORIES.includes(category as AssignedNumber['assignmentCategory'])) {
          throw badRequest(`Invalid value '${String(category)}' for parameter 'assignmentCategory'.`);
        }
        const found = !GUID.test(targetId)
          ? undefined
          : scale
            ? scale.user(targetId)
            : findUser(tenant, targetId);
        const user = found ? { id: found.id } : undefined;
        if (!user) {
          throw new GraphFailure(
            404,
            'NotFound',
            `The assignment target '${targetId}' is not a user or resource account of this tenant.`,
          );
        }
        const operation = voice.start(tenant.id, {
          kind: 'assign',
          telephoneNumber,
          userId: user.id,
          assignmentCategory: category as AssignedNumber['assignmentCategory'],
          // A scale tenant's users hold Phone System as their Teams side says (its voice users).
          phoneSystem: scale
            ? () => scale.teamsUser(user.id)?.featureTypes.includes('PhoneSystem') === true
            : () => hasPhoneSystem(state, tenant, user.id),
          ...committed(scale),
        });
        return accepted(request, tenant, operation);
      }),
    },
    {
      method: 'POST',
      path: `${BASE}/numberAssignments/unassignNumber`,
      handle: guarded(PERMISSIONS.write, (request, tenant) => {
        const scale = generated(tenant);
        const body = jsonBody(request);
        const telephoneNumber = requireNumber(body.telephoneNumber);
        requireNumberType(body.numberType, false);
        return accepted(
          request,
          tenant,
          voice.start(tenant.id, { kind: 'unassign', telephoneNumber, ...committed(scale) }),
        );
      }),
    },
    {
      method: 'GET',
      path: `${BASE}/numberAssignments`,
      // A generated tenant's numbers are its formula's; this lists only numbers assigned through the actions.
      handle: guarded(PERMISSIONS.read, (request, tenant) => {
        return ok(request, {
          '@odata.context': context(
            request,
            'admin/teams/telephoneNumberManagement/numberAssignments',
            undefined,
          ),
          value: voice.assignments(tenant.id).map((a) => ({
            id: a.telephoneNumber,
            telephoneNumber: a.telephoneNumber,
            assignmentTargetId: a.userId,
            assignmentCategory: a.assignmentCategory,
            assignmentStatus: 'userAssigned',
            numberType: 'directRouting',
            activationState: 'activated',
            capabilities: ['userAssignment'],
          })),
        });
      }),
    },
    {
      method: 'GET',
      path: `${BASE}/operations/:id`,
      handle: guarded(PERMISSIONS.read, (request, tenant) => {
        const id = request.params.id ?? '';
        const operation = voice.operation(tenant.id, id);
        if (!operation) throw new GraphFailure(404, 'NotFound', `The operation '${id}' was not found.`);
        const reply = ok(request, {
          '@odata.context': `${request.origin}/graph/v1.0/$metadata#admin/teams/telephoneNumberManagement/operations/$entity`,
          ...operation,
        });
        const remaining = voice.remainingMs(tenant.id, operation.id);
        return remaining > 0
          ? { ...reply, headers: { ...reply.headers, 'retry-after': String(retryAfterSeconds(remaining)) } }
          : reply;
      }),
    },
  ];
}

/** Whole seconds, rounded, so that a sandbox running faster than real time does not make clients wait a second. */
function retryAfterSeconds(remainingMs: number): number {
  return Math.round(remainingMs / 1000);
}

/** Phone System comes with a license whose SKU includes the MCOEV plan, unless that plan is disabled. */
export function hasPhoneSystem(state: SandboxState, tenant: Tenant, userId: string): boolean {
  return state.directory.assignedLicenses(tenant, userId).some((license) => {
    const plan = SKU_CATALOGUE.find((s) => s.skuId === license.skuId)?.servicePlans.find(
      (p) => p.servicePlanName === MCOEV_PLAN,
    );
    return plan !== undefined && !license.disabledPlans.includes(plan.servicePlanId);
  });
}

/** E.164 with `+` (added when left out, as the service accepts both) and an optional `;ext=`. */
function requireNumber(value: unknown): string {
  if (value === undefined || value === null) throw missing('telephoneNumber');
  if (typeof value !== 'string' || !NUMBER.test(value.trim())) {
    throw badRequest(
      `'${String(value)}' is not a valid telephone number; use E.164, e.g. +12065551234;ext=1234.`,
    );
  }
  const trimmed = value.trim().replace(/;EXT=/i, ';ext=');
  return trimmed.startsWith('+') ? trimmed : `+${trimmed}`;
}

function requireNumberType(value: unknown, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) throw missing('numberType');
    return;
  }
  if (typeof value !== 'string' || !NUMBER_TYPES.includes(value)) {
    throw badRequest(`Invalid value '${String(value)}' for parameter 'numberType'.`);
  }
  if (value !== 'directRouting') {
    throw badRequest(`The tenant has no ${value} numbers; the sandbox serves Direct Routing numbers only.`);
  }
}

function missing(name: string): GraphFailure {
  return badRequest(`The parameter '${name}' is required.`);
}

function badRequest(message: string): GraphFailure {
  return new GraphFailure(400, 'BadRequest', message);
}

function jsonBody(request: PeerRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(request.body.toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Answered below.
  }
  throw badRequest(
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  );
}
