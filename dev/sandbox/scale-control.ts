import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SbcSandbox } from './peers/sbc.js';
import type { Peer, PeerRequest, Reply, Route } from './router.js';
import { DEMO } from './demo-data.js';
import { groupControlRoutes } from './group-control.js';
import { nextIndex, type SbcDialPlanRule } from './sbc-state.js';
import { ScaleDirectory, ScaleTenantError, seedScaleVoice } from './scale-tenant.js';
import { type SandboxState, SandboxStateError } from './state.js';
import type { TenantDirectories } from './tenant-directory.js';
import { type TeamsAdminState, TeamsAdminStateError } from './teams-state.js';

const nullableText = z.string().min(1).nullable().optional();

const newScaleTenantSchema = z.strictObject({
  id: z.string().optional(),
  displayName: z.string().min(1),
  initialDomainPrefix: z.string().min(1).optional(),
  users: z.number().int().min(0).max(1_000_000),
  /** Regular groups; one per 200 users by default. A "Voice Users" group comes on top. */
  groups: z.number().int().min(1).max(100_000).optional(),
  seed: z.string().min(1).optional(),
  /** PSTN gateway FQDNs of the seeded voice configuration (the first carries the "Unrestricted" route). */
  gateways: z.array(z.string().min(1)).min(1).max(2).optional(),
});

const newUserSchema = z.strictObject({
  displayName: z.string().min(1),
  userPrincipalName: z.string().min(3).optional(),
  department: nullableText,
  usageLocation: z.string().length(2).nullable().optional(),
  accountEnabled: z.boolean().optional(),
  enterpriseVoiceEnabled: z.boolean().optional(),
  telephoneNumber: nullableText,
});

const userChangesSchema = z.strictObject({
  displayName: z.string().min(1).optional(),
  userPrincipalName: z.string().min(3).optional(),
  department: nullableText,
  usageLocation: z.string().length(2).nullable().optional(),
  accountEnabled: z.boolean().optional(),
  jobTitle: nullableText,
  mobilePhone: nullableText,
  businessPhones: z.array(z.string().min(1)).optional(),
});

const teamsChangesSchema = z.strictObject({
  enterpriseVoiceEnabled: z.boolean().optional(),
  telephoneNumber: nullableText,
  policies: z.record(z.string().min(1), z.string().min(1)).optional(),
});

const dialPlanSchema = z.strictObject({
  dialPlan: z.string().min(1).default('CustDialPlan'),
  rules: z.number().int().min(0).max(200_000),
  /** How many customers (rule names) share the rules. */
  customers: z.number().int().min(1).max(10_000).default(500),
  seed: z.string().min(1).default('scale'),
});

/**
 * `/_sandbox/scale`: generated tenants for load tests and the changes tests make "behind the product's back":
 * - `POST /tenants` `{ displayName, users, groups?, seed?, gateways? }` → a tenant whose directory is generated
 *   (`scale-tenant.ts`) with a seeded Teams voice configuration;
 * - `GET /tenants/{tenant}`: counts and the ids of the first user and group;
 * - `POST /tenants/{tenant}/users`, `DELETE /tenants/{tenant}/users/{id or UPN}`,
 *   `PATCH /tenants/{tenant}/users/{id}/teams`;
 * - `PATCH /tenants/{tenant}/users/{id or UPN}` (any tenant) `{ displayName?, userPrincipalName?, department?,
 *   usageLocation?, accountEnabled?, jobTitle?, mobilePhone?, businessPhones? }`;
 * - groups and memberships of any tenant (`group-control.ts`);
 * - `GET /tenants/{tenant}/teams` (any tenant): its Teams configuration objects (gateways, routes, …) and grants;
 * - `PUT /tenants/{tenant}/teams/{PolicyName}/{Identity}` (any tenant): changes a Teams configuration object;
 * - `POST /sbc/{device}/dialplan` `{ dialPlan, rules, customers, seed }`: replaces one dial plan's rules with
 *   generated ones (running and saved configuration).
 * Registered before the control peer; never logged nor faulted.
 */
export function scaleControlPeer(deps: {
  readonly state: SandboxState;
  readonly teams: TeamsAdminState;
  readonly directories: TenantDirectories;
  readonly sbc: SbcSandbox;
}): Peer {
  const { state, teams, directories } = deps;
  const scaleOf = (request: PeerRequest): ScaleDirectory => {
    const tenant = state.requireTenant(request.params.tenant ?? '');
    const directory = directories.generatedFor(tenant.id);
    if (!(directory instanceof ScaleDirectory)) {
      throw new ScaleTenantError(404, `Tenant '${tenant.id}' is not a generated tenant.`);
    }
    return directory;
  };
  const routes: Route[] = [
    {
      method: 'POST',
      path: '/tenants',
      handle: (request) => {
        const directory = createScaleTenant(deps, parseJson(request, newScaleTenantSchema));
        return {
          status: 201,
          body: describe(directory.options.tenantId, directory.options.domain, directory),
        };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant',
      handle: (request) => {
        const directory = scaleOf(request);
        return ok(describe(directory.options.tenantId, directory.options.domain, directory));
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users',
      handle: (request) => ({
        status: 201,
        body: scaleOf(request).addUser(parseJson(request, newUserSchema)),
      }),
    },
    {
      method: 'PATCH',
      path: '/tenants/:tenant/users/:user',
      handle: (request) => {
        const changes = parseJson(request, userChangesSchema);
        const user = request.params.user ?? '';
        const tenant = state.requireTenant(request.params.tenant ?? '');
        const generated = directories.generatedFor(tenant.id);
        return ok(
          generated instanceof ScaleDirectory
            ? generated.updateUser(user, changes)
            : state.updateUser(tenant.id, user, changes),
        );
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/users/:user',
      handle: (request) => {
        scaleOf(request).deleteUser(request.params.user ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'PATCH',
      path: '/tenants/:tenant/users/:user/teams',
      handle: (request) =>
        ok(scaleOf(request).updateTeams(request.params.user ?? '', parseJson(request, teamsChangesSchema))),
    },
    ...groupControlRoutes(deps, parseJson),
    {
      method: 'GET',
      path: '/tenants/:tenant/teams',
      handle: (request) => ok(teams.snapshot(state.requireTenant(request.params.tenant ?? '').id)),
    },
    {
      method: 'PUT',
      path: '/tenants/:tenant/teams/:policyName/:identity',
      handle: (request) => {
        const tenant = state.requireTenant(request.params.tenant ?? '');
        const body = parseJson(request, z.record(z.string(), z.unknown()));
        return ok(
          teams.update(tenant.id, request.params.policyName ?? '', request.params.identity ?? '', body),
        );
      },
    },
    {
      method: 'POST',
      path: '/sbc/:device/dialplan',
      handle: (request) => {
        const input = parseJson(request, dialPlanSchema);
        const device = deps.sbc.devices.get(request.params.device ?? '');
        if (!device) throw new ScaleTenantError(404, `SBC '${request.params.device}' does not exist.`);
        const rules = generateDialPlanRules(input.rules, input.customers, input.seed);
        for (const config of [device.running, device.saved]) {
          let plan = config.dialPlans.find((p) => p.name === input.dialPlan);
          if (!plan) {
            plan = { index: nextIndex(config.dialPlans), name: input.dialPlan, rules: [] };
            config.dialPlans.push(plan);
          }
          plan.rules = rules.map((rule) => ({ ...rule }));
        }
        return ok({ dialPlan: input.dialPlan, rules: rules.length });
      },
    },
  ];
  return {
    name: 'scale-control',
    prefix: '/_sandbox/scale',
    error: (status, message) => controlError(status, status === 404 ? 'NotFound' : 'Error', message),
    routes: routes.map((route) => ({ ...route, handle: (request) => explain(route, request) })),
  };
}

export type NewScaleTenant = z.input<typeof newScaleTenantSchema>;

/** A tenant whose directory is generated, with the seeded Teams voice configuration; also for tests in process. */
export function createScaleTenant(
  deps: {
    readonly state: SandboxState;
    readonly teams: TeamsAdminState;
    readonly directories: TenantDirectories;
  },
  raw: NewScaleTenant,
): ScaleDirectory {
  const input = newScaleTenantSchema.parse(raw);
  const tenant = deps.state.addTenant({
    displayName: input.displayName,
    ...(input.id ? { id: input.id } : {}),
    ...(input.initialDomainPrefix ? { initialDomainPrefix: input.initialDomainPrefix } : {}),
  });
  const domain = tenant.verifiedDomains.find((d) => d.isInitial)?.name ?? '';
  const directory = new ScaleDirectory({
    tenantId: tenant.id,
    domain,
    users: input.users,
    groups: input.groups ?? Math.max(1, Math.ceil(input.users / 200)),
    seed: input.seed ?? 'scale',
    // A tenant in use for a while: its users were not all modified a moment ago.
    createdDateTime: new Date(Date.now() - 30 * 24 * 60 * 60 * 1000).toISOString(),
  });
  deps.directories.register(tenant.id, directory);
  const prefix = domain.split('.')[0] ?? 'scale';
  seedScaleVoice(deps.teams, tenant.id, input.gateways ?? [`${prefix}.customers.voice.example`]);
  return directory;
}

/**
 * The customer's own app registration for replication, with a secret and the tenant's admin consent to what the
 * product checks when it connects (onboarding's and replication's permissions).
 */
export function addReplicationApp(
  sandbox: { readonly state: SandboxState; readonly teams: Pick<TeamsAdminState, 'adminRoles'> },
  tenantId: string,
  displayName: string,
): { readonly appId: string; readonly secretText: string } {
  const { state } = sandbox;
  const app = state.addApplication({ displayName, homeTenantId: tenantId });
  const secret = state.addSecret(app.appId);
  state.consent(tenantId, app.appId, { 'https://graph.microsoft.com': DEMO.appRegistrationGraphRoles });
  // As the customer's admin sets the app up (docs/consent-flow.md): app-only Teams admin calls need the role.
  sandbox.teams.adminRoles.set(tenantId, app.appId, true);
  return { appId: app.appId, secretText: secret.secretText };
}

/**
 * `count` dial-plan rules shared by `customers` rule names (the customers' Short Names), each a block of numbers
 * (`+<country><area><block>[000-999]`-style prefixes) tagged with the customer's trunk FQDN. Deterministic in
 * the seed.
 */
export function generateDialPlanRules(count: number, customers: number, seed: string): SbcDialPlanRule[] {
  const base = Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 6), 16) % 9000;
  const rules: SbcDialPlanRule[] = [];
  for (let index = 0; index < count; index++) {
    const customer = index % customers;
    const block = 1000 + base + Math.floor(index / customers);
    rules.push({
      index,
      name: `cust${String(customer).padStart(4, '0')}`,
      prefix: `+44${String(20 + (customer % 70)).padStart(2, '0')}${String(block).padStart(5, '0')}[000-999]`,
      tag: `cust${String(customer).padStart(4, '0')}.customers.voice.example`,
    });
  }
  return rules;
}

function describe(tenantId: string, domain: string, directory: ScaleDirectory) {
  return {
    tenantId,
    initialDomain: domain,
    ...directory.counts(),
    firstUserId: directory.userId(0),
    firstGroupId: directory.groupId(0),
    voiceGroupId: directory.groupId(directory.voiceGroupIndex),
  };
}

async function explain(route: Route, request: PeerRequest): Promise<Reply> {
  try {
    return await route.handle(request);
  } catch (error) {
    if (error instanceof z.ZodError) return controlError(400, 'InvalidRequest', z.prettifyError(error));
    if (error instanceof ScaleTenantError || error instanceof SandboxStateError) {
      return controlError(error.status, error.status === 404 ? 'NotFound' : 'Refused', error.message);
    }
    if (error instanceof TeamsAdminStateError) return controlError(error.status, error.code, error.message);
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
