import { expect } from 'vitest';
import { DEMO } from '../../dev/sandbox/index.js';
import { DEMO_SBC } from '../../dev/sandbox/sbc-state.js';
import { createUserChangeStore } from '../../shared/users/user-change-store.js';
import { createVoiceChangeStore } from '../../shared/voice/voice-change-store.js';
import { CONTOSO, settled } from '../onboarding/onboarding-fixture.js';
import { type ApiResponse, apiClient } from './api-client.js';
import {
  type MemoryStackOptions,
  type MemoryStackWithPeers,
  startMemoryStackWithPeers,
} from './memory-stack.js';
import { buildOnboardedWorld, type OnboardedWorld } from './onboarded-world.js';
import {
  CHANNEL,
  CHANNEL_ADMIN,
  CUSTOMER_ADMIN,
  grantRoles,
  OTHER,
  OWN,
  type Role,
  roleTokens,
} from './roles.js';

/**
 * The world the conformance run and the fuzz suite call every operation in: the memory stack with its peers, built
 * through the API and the sandbox as an operator and a customer's admin would (test/support/onboarded-world.ts), with
 * the queues then held, and per operation the path, body and query its success needs.
 */

const DIRECTORY = 'DirectoryCo';
const BOUND_GROUP = '77777777-7777-4777-8777-777777777777';
/** A Hosted Essentials customer, for Upgrade Customer. */
const ESSENTIALS = 'EssentialCo';
const UUID = '66666666-6666-4666-8666-666666666666';
/** The voice audit entry the run rolls back (a task id). */
const VOICE_ENTRY = '0'.repeat(26);

export interface Parameter {
  name: string;
  in: string;
  schema?: { type?: string; enum?: string[]; pattern?: string; maxLength?: number; $ref?: string };
  $ref?: string;
}
export interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, unknown> };
}
export interface Document {
  paths: Record<string, Record<string, Operation>>;
}

type Call = ReturnType<typeof apiClient>;

/** The sandbox's demo SBC, as the provider knows it (`npm start` seeds it): it answers, and knows its rules. */
const SBC = {
  name: DEMO_SBC.devices.eu1.name,
  ipAddress: DEMO_SBC.devices.eu1.ipAddress,
  https: true,
  gatewayUser: DEMO_SBC.devices.eu1.username,
  gatewayPassword: DEMO_SBC.devices.eu1.password,
};
/** A range on the deployed customer's site (its SBC); the run's own create takes the next hundred. */
// Numbers of its own on the shared SBC: the demo SBC's imported customer (litware) routes +4420794600/01.
const NUMBER_RANGE = { name: 'London', start: '+442079470000', end: '+442079470099', siteName: OWN };
/** A template that only switches Enterprise Voice on: applied in a dry run, it touches no number. */
const USER_TEMPLATE = { name: 'Conformance', enterpriseVoice: 'enable' };
const DIAL_RULE = { name: 'National', pattern: '^0(\\d{10})$', translation: '+44$1' };
const REGION = { name: 'latam', fqdn: 'sbc.latam.example.com', ipAddress: '192.0.2.20' };

export interface ConformanceWorld {
  readonly stack: MemoryStackWithPeers;
  readonly tokens: Record<Role, string>;
  /** The provider's caller. */
  readonly call: Call;
  /** The served OpenAPI document. */
  readonly document: Document;
  readonly world: OnboardedWorld;
  /** A valid body of the operation (a string for a CSV one), `{}` when it takes none the world names. */
  bodyOf(operationId: string): unknown;
  /** The document's path with each parameter naming what the operation's success needs. */
  pathOf(path: string, operationId: string): string;
  /** The query (`?…` or empty) that makes the operation's valid call harmless or possible. */
  validQuery(operationId: string): string;
}

/** A customer created and removed, for the provider's removed customers and their audit: its uid. */
async function removedCustomer(call: Call): Promise<string> {
  await expectOk(
    call('POST', '/api/v1/customers', {
      json: { fullName: 'Former Ltd', shortName: 'FormerCo', licenseType: 'hosted-essentials' },
    }),
    'a customer to remove',
  );
  const removal = await expectOk(call('DELETE', '/api/v1/customers/FormerCo'), 'its removal');
  expect((await settled(call, removal.headers.get('location') ?? '')).state).toBe('finish-success');
  const removed = await expectOk(call('GET', '/api/v1/removed-customers'), 'the removed customers');
  return (removed.body as { value: Array<{ uid: string }> }).value[0]?.uid ?? '';
}

async function expectOk(response: Promise<ApiResponse>, what: string): Promise<ApiResponse> {
  const answered = await response;
  expect(answered.status, `${what}: ${JSON.stringify(answered.body)}`).toBeLessThan(300);
  return answered;
}

export async function startConformanceWorld(options: MemoryStackOptions = {}): Promise<ConformanceWorld> {
  const ids: Record<string, string> = {};
  /** Every voice route of OWN's mirror, for the reorder (it must list them all). */
  let routeOrder: string[] = [];
  const stack = await startMemoryStackWithPeers(options);
  try {
    const tokens = await roleTokens(stack);
    const call = apiClient(stack.api, async () => tokens.provider);
    const document = (await call('GET', '/api/v1/openapi.json', { token: null })).body as Document;

    const world = await buildOnboardedWorld(stack, call, tokens.provider, {
      deployed: OWN,
      paused: OTHER,
      directory: DIRECTORY,
      connected: 'Connected',
      invited: 'Invited',
    });
    ids.removedCustomer = await removedCustomer(call);
    // From here on what the run queues stays queued: its tasks wait, in the states the run's calls expect.
    await stack.holdQueues();

    ids.queuedTask = (await grantRoles(stack, call))[OWN] ?? '';
    await expectOk(
      call('POST', '/api/v1/customers', {
        json: { fullName: 'Essential Ltd', shortName: ESSENTIALS, licenseType: 'hosted-essentials' },
      }),
      'a Hosted Essentials customer',
    );
    // A failed task: a queued one the operator cancelled.
    const cancelled = await stack.services.taskEngine.start({
      type: 'SbcUpdatePrefixes',
      customerId: OTHER,
      input: { customerId: OTHER },
    });
    await expectOk(call('POST', `/api/v1/tasks/${cancelled.id}/cancel`), 'a cancelled task');
    ids.failedTask = cancelled.id;
    // An SBC no region names, for the deletion.
    const spare = await expectOk(
      call('POST', '/api/v1/settings/sbcs', { json: { ...SBC, name: 'sbc-spare', ipAddress: '192.0.2.99' } }),
      'a spare SBC',
    );
    ids.spareSbc = (spare.body as { id: string }).id;
    const region = await expectOk(
      call('POST', '/api/v1/settings/regions', { json: { ...REGION, sbcId: SBC.name } }),
      'a region',
    );
    ids.region = (region.body as { id: string }).id;
    await expectOk(
      call('POST', '/api/v1/script-templates', {
        json: { id: 'conformance', name: 'Conformance', type: 'background', body: 'Write-Output 1' },
      }),
      'a script template',
    );
    await stack.services.alarms.raise({
      name: 'Conformance',
      severity: 'warning',
      source: 'test',
      text: 'Raised for the conformance run.',
    });
    ids.alarm = (await stack.services.alarms.list())[0]?.id ?? '';
    // An applied user change of OWN's admin user, for the rollback: it took the number away.
    await createUserChangeStore(stack.tables).putAuditEntry({
      id: `${'0'.repeat(26)}.${CUSTOMER_ADMIN}`,
      customerId: OWN,
      userId: CUSTOMER_ADMIN,
      userPrincipalName: 'admin@ownco.example',
      initiatedBy: 'conformance',
      taskId: '0'.repeat(26),
      status: 'processed',
      createdAt: new Date().toISOString(),
      completedAt: new Date().toISOString(),
      error: null,
      rollbackOf: null,
      fields: [
        {
          field: 'line-uri',
          fieldName: 'OnPremLineUri',
          oldValue: 'tel:+442079470099',
          newValue: null,
          change: { field: 'line-uri', value: null },
          state: 'applied',
        },
      ],
    });
    // OWN's voice objects beside what onboarding created: a usage, a route and a policy to read and edit, spare ones to
    // delete, and a route an applied voice change created, for its rollback.
    const voice = await stack.services.mirror.voiceObjects(OWN);
    const usageList = voice.find((o) => o.policyName === 'OnlinePstnUsages');
    const route = (identity: string, priority: number) => ({
      policyName: 'OnlineVoiceRoute',
      identity,
      data: {
        Identity: identity,
        Description: '',
        NumberPattern: '.*',
        Priority: priority,
        OnlinePstnGatewayList: [],
        OnlinePstnUsages: ['ConfUsage'],
      },
    });
    const policy = (name: string) => ({
      policyName: 'OnlineVoiceRoutingPolicy',
      identity: `Tag:${name}`,
      data: { Identity: `Tag:${name}`, Description: '', OnlinePstnUsages: ['ConfUsage'] },
    });
    const dialPlan = (name: string) => ({
      policyName: 'TenantDialPlan',
      identity: `Tag:${name}`,
      data: {
        Identity: `Tag:${name}`,
        Description: '',
        SimpleName: name,
        ExternalAccessPrefix: null,
        NormalizationRules: [
          {
            Name: 'National',
            Pattern: '^0(\\d{10})$',
            Translation: '+44$1',
            IsInternalExtension: false,
            Description: '',
          },
        ],
      },
    });
    // Location-based routing: a region, a site in it with a subnet, a trusted IP and emergency policies to read and
    // edit, and spare ones nothing names, to delete.
    const object = (policyName: string, identity: string, data: Record<string, unknown>) => ({
      policyName,
      identity,
      data: { Identity: identity, Description: '', ...data },
    });
    const emergencyNumbers = [
      { EmergencyDialString: '911', EmergencyDialMask: '', OnlinePSTNUsage: 'ConfUsage' },
    ];
    const locationObjects = () => [
      object('TenantNetworkRegion', 'ConfRegion', { NetworkRegionID: 'ConfRegion', CentralSite: null }),
      object('TenantNetworkRegion', 'SpareRegion', { NetworkRegionID: 'SpareRegion', CentralSite: null }),
      object('TenantNetworkSite', 'ConfSite', {
        NetworkRegionID: 'ConfRegion',
        EnableLocationBasedRouting: true,
      }),
      object('TenantNetworkSite', 'SpareSite', {
        NetworkRegionID: 'ConfRegion',
        EnableLocationBasedRouting: false,
      }),
      object('TenantNetworkSubnet', '10.50.0.0', { MaskBits: 16, NetworkSiteID: 'ConfSite' }),
      object('TenantNetworkSubnet', '10.51.0.0', { MaskBits: 16, NetworkSiteID: 'ConfSite' }),
      object('TenantTrustedIPAddress', '198.51.100.1', { MaskBits: 32 }),
      object('TenantTrustedIPAddress', '198.51.100.2', { MaskBits: 32 }),
      object('TeamsEmergencyCallingPolicy', 'Tag:ConfECP', { NotificationMode: 'NotificationOnly' }),
      object('TeamsEmergencyCallingPolicy', 'Tag:SpareECP', { NotificationMode: 'ConferenceMuted' }),
      object('TeamsEmergencyCallRoutingPolicy', 'Tag:ConfECRP', { EmergencyNumbers: emergencyNumbers }),
      object('TeamsEmergencyCallRoutingPolicy', 'Tag:SpareECRP', { EmergencyNumbers: [] }),
    ];
    const gateway = (fqdn: string) => ({
      policyName: 'OnlinePSTNGateway',
      identity: fqdn,
      data: { Identity: fqdn, Fqdn: fqdn, SipSignalingPort: 5061, Enabled: true, BypassMode: 'None' },
    });
    await stack.services.mirror.putVoiceObjects(
      OWN,
      [
        {
          policyName: 'OnlinePstnUsages',
          identity: 'Global',
          data: {
            Identity: 'Global',
            Usage: [...((usageList?.data.Usage as string[] | undefined) ?? []), 'ConfUsage', 'SpareUsage'],
          },
        },
        route('ConfRoute', 50),
        route('SpareRoute', 51),
        route('RolledRoute', 52),
        policy('ConfPolicy'),
        policy('SparePolicy'),
        dialPlan('ConfPlan'),
        dialPlan('SparePlan'),
        // ConfPolicy granted to the replicated group, for the rank change and the removal.
        {
          policyName: 'GroupPolicyAssignment',
          identity: `OnlineVoiceRoutingPolicy:${world.groupId}`,
          data: {
            Identity: `OnlineVoiceRoutingPolicy:${world.groupId}`,
            GroupId: world.groupId,
            PolicyType: 'OnlineVoiceRoutingPolicy',
            PolicyName: 'ConfPolicy',
            Rank: 1,
          },
        },
        ...locationObjects(),
        gateway('conf-sbc.example.com'),
        gateway('spare-sbc.example.com'),
      ],
      [],
      'conformance',
    );
    routeOrder = (await stack.services.mirror.voiceObjects(OWN))
      .filter((o) => o.policyName === 'OnlineVoiceRoute')
      .map((o) => o.identity)
      .reverse();
    await createVoiceChangeStore(stack.tables).put({
      id: VOICE_ENTRY,
      customerId: OWN,
      initiatedBy: 'conformance',
      taskId: VOICE_ENTRY,
      status: 'processed',
      createdAt: new Date().toISOString(),
      completedAt: new Date().toISOString(),
      error: null,
      rollbackOf: null,
      changes: [
        {
          kind: 'voice-routes',
          identity: 'RolledRoute',
          before: null,
          after: { description: '', numberPattern: '.*', priority: 52, gateways: [], usages: ['ConfUsage'] },
        },
      ],
    });
    // A queued change of the same user: its details then show a pending change next to that entry.
    await expectOk(
      call('PATCH', `/api/v1/customers/${OWN}/users/${CUSTOMER_ADMIN}`, { json: { usageLocation: 'GB' } }),
      'a queued user change',
    );
    await expectOk(
      call('PUT', '/api/v1/settings/invitations', { json: bodyOf('settings-invitations-put') }),
      'the invitation settings',
    );
    const invitation = await expectOk(
      call('POST', `/api/v1/customers/${OTHER}/invitations`, {
        json: { invitationEmail: 'it@otherco.example' },
      }),
      'an invitation',
    );
    ids.invitation = (invitation.body as { id: string }).id;
    const range = await expectOk(
      call('POST', `/api/v1/customers/${OWN}/number-ranges`, { json: NUMBER_RANGE }),
      'a number range',
    );
    ids.range = (range.body as { id: string }).id;
    // The deletion's own: the first range holds the number the run's assignment queues, which keeps it in use.
    const spareRange = await expectOk(
      call('POST', `/api/v1/customers/${OWN}/number-ranges`, {
        json: { ...NUMBER_RANGE, name: 'Spare', start: '+442079470200', end: '+442079470299' },
      }),
      'a spare number range',
    );
    ids.spareRange = (spareRange.body as { id: string }).id;
    const reserved = await expectOk(
      call('POST', `/api/v1/customers/${OWN}/reserved-numbers`, { json: { lineUri: '+442079470001' } }),
      'a reserved number',
    );
    ids.reservation = (reserved.body as { id: string }).id;
    const imported = await expectOk(
      call('POST', `/api/v1/customers/${OWN}/user-imports`, {
        body: `User\n${CUSTOMER_ADMIN}\n`,
        contentType: 'text/csv',
      }),
      'a user import',
    );
    ids.userImport = (imported.body as { id: string }).id;
    for (const name of ['userTemplate', 'spareUserTemplate']) {
      const created = await expectOk(
        call('POST', `/api/v1/customers/${OWN}/user-templates`, { json: { ...USER_TEMPLATE, name } }),
        'a user template',
      );
      ids[name] = String((created.body as { id: number }).id);
    }
    // A group replication found in OWN's tenant, for its lifecycle bindings.
    await stack.services.mirror.putGroups(
      OWN,
      [
        {
          id: BOUND_GROUP,
          displayName: 'Voice users',
          description: null,
          mailEnabled: false,
          securityEnabled: true,
        },
      ],
      'conformance',
    );
    for (const name of ['binding', 'spareBinding']) {
      const created = await expectOk(
        call('POST', `/api/v1/customers/${OWN}/lifecycle/bindings`, {
          json: { templateId: Number(ids.userTemplate), groupIds: [BOUND_GROUP] },
        }),
        'a lifecycle binding',
      );
      ids[name] = (created.body as { id: string }).id;
    }
    for (const name of ['session', 'invitationSession']) {
      const session = await expectOk(call('POST', '/api/v1/wizard-sessions'), 'a wizard session');
      ids[name] = (session.body as { id: string }).id;
    }

    /** A valid body per operation that takes one. */
    function bodyOf(operationId: string): unknown {
      const bodies: Record<string, unknown> = {
        'customers-create': { fullName: 'Third Ltd', shortName: 'ThirdCo', licenseType: 'hosted-essentials' },
        'customers-update': { licensedUsers: 20 },
        'settings-token-app-put': {
          clientId: DEMO.tokenApp.clientId,
          clientSecret: DEMO.tokenApp.clientSecret,
        },
        'settings-invitations-put': { subjectTemplate: 'Welcome', emailTemplate: 'Hello', validityDays: 7 },
        'settings-email-put': {
          transport: 'smtp',
          from: 'hub@provider.example',
          host: 'smtp.example.com',
          port: 587,
        },
        'settings-white-label-put': { displayName: 'Provider' },
        'settings-dns-api-put': {
          credential: 'managed-identity',
          subscriptionId: UUID,
          resourceGroupName: 'dns',
          dnsZone: 'provider.example.com',
        },
        'settings-license-plans-put': { plans: [{ name: 'Microsoft 365 E5', skuPartNumbers: ['SPE_E5'] }] },
        'settings-registrar-hosts-put': { hosts: null },
        'settings-regions-create': { ...REGION, name: 'apac', sbcId: SBC.name },
        // The A record the deployed customer's onboarding wrote in the provider's zone.
        'settings-regions-resolve': { fqdn: `${OWN.toLowerCase()}.emea.${DEMO.provider.dns.zone}` },
        'settings-regions-update': { ...REGION, sbcId: SBC.name },
        'settings-sbcs-create': { ...SBC, name: 'sbc-ap1' },
        'settings-sbcs-update': SBC,
        'wizard-customer': {
          fullName: 'Wizard Ltd',
          shortName: 'WizCo',
          licenseType: 'hosted-pro',
          licensedUsers: 10,
        },
        'wizard-connection': { method: 'invite', invitationEmail: 'it@wizco.example' },
        'wizard-m365-settings': { overrideAdminDomain: CONTOSO.initialDomain },
        'wizard-dns': { method: 'automatic', regionId: 'emea' },
        'wizard-m365-routing': { configure: false },
        'wizard-sbc': { configureSbc: false },
        'wizard-prefixes': { prefixes: [] },
        'wizard-sbc-scripts': {
          onboardingTemplateId: 'sbc-scenario7',
          cleanupTemplateId: 'sbc-scenario7-cleanup',
        },
        'script-templates-create': {
          id: 'conformance-2',
          name: 'Second',
          type: 'background',
          body: 'Write-Output 2',
        },
        'script-templates-update': { name: 'Conformance', type: 'background', body: 'Write-Output 3' },
        'script-templates-preview': {},
        'wizard-submit': { dryRun: true },
        'sites-add': { siteName: 'Site2' },
        'sites-deploy': { dryRun: true },
        'sites-update': { prefixes: [] },
        'tasks-delete-selected': { taskIds: [world.finishedTask] },
        'tasks-delete-all': { customerId: OTHER, state: 'finish-success' },
        'tasks-process-all': { customerId: OTHER },
        'invitations-remind': {},
        'customers-switch-to-token': { invitationEmail: 'it@ownco.example' },
        'customers-upgrade': {
          licenseType: 'hosted-pro',
          licensedUsers: 5,
          m365Authentication: {
            method: 'app-registration',
            tenantId: CONTOSO.tenantId,
            clientId: CONTOSO.appRegistration.clientId,
            clientSecret: CONTOSO.appRegistration.clientSecret,
          },
        },
        'authentication-status-update-app-registration': {
          clientId: CONTOSO.appRegistration.clientId,
          clientSecret: CONTOSO.appRegistration.clientSecret,
        },
        'site-prefixes-save': { prefixes: [] },
        'sbc-import-customer': {
          sbcCustomerName: DEMO_SBC.existingCustomer.customerId,
          fqdnPstnGateway: DEMO_SBC.existingCustomer.gateway,
        },
        'channels-put': { name: 'Reseller A' },
        'customer-channel-set': { channelId: CHANNEL },
        'settings-license-put': {
          warningLimitPercent: 80,
          graceIntervalPercent: 10,
          factors: { byTemplate: true, byUserInterface: true, serviceNumbers: false },
        },
        'customer-license-factors': { factors: null },
        'number-ranges-create': { ...NUMBER_RANGE, start: '+442079470100', end: '+442079470199' },
        'number-ranges-update': { ...NUMBER_RANGE, description: 'Head office' },
        'reserved-numbers-create': { lineUri: 'tel:+442079470002' },
        'reserved-numbers-update': { reason: 'Temporary employee', comments: 'VP approval' },
        'users-update': { enterpriseVoiceEnabled: true },
        'users-assign-number': { lineUri: '+442079470010' },
        'audit-user-change-rollback': { fields: ['line-uri'] },
        // A user of OWN's replicated directory, with nothing to change: the import is valid and changes nothing.
        'user-imports-create': `User\n${CUSTOMER_ADMIN}\n`,
        'user-templates-create': { ...USER_TEMPLATE, name: 'Created' },
        'user-templates-update': { ...USER_TEMPLATE, enterpriseVoice: 'disable' },
        'user-templates-clone': { name: 'Cloned' },
        'user-templates-apply': { users: [{ userId: CUSTOMER_ADMIN }] },
        'user-templates-apply-file': `Sip address\nsip:${CUSTOMER_ADMIN}\n`,
        'lifecycle-bindings-create': { templateId: Number(ids.userTemplate), groupIds: [BOUND_GROUP] },
        'lifecycle-bindings-update': {
          templateId: Number(ids.userTemplate),
          groupIds: [BOUND_GROUP],
          onLeave: 'remove',
        },
        'lifecycle-bindings-move': { rank: 1 },
        'voice-pstn-usages-create': { name: 'NewUsage' },
        'voice-routes-create': {
          identity: 'NewRoute',
          numberPattern: '^\\+44(\\d{10})$',
          priority: 60,
          gateways: [],
          usages: ['ConfUsage'],
        },
        'voice-routes-update': {
          description: 'Edited',
          numberPattern: '.*',
          priority: 50,
          gateways: [],
          usages: ['ConfUsage'],
        },
        'voice-routes-reorder': { routes: routeOrder },
        'voice-routing-policies-create': { identity: 'NewPolicy', usages: ['ConfUsage'] },
        'voice-routing-policies-update': { description: 'Edited', usages: ['ConfUsage'] },
        'voice-routing-policy-groups-create': { groupId: BOUND_GROUP },
        'voice-routing-policy-groups-update': { rank: 1 },
        'voice-dial-plans-create': { identity: 'NewPlan', normalizationRules: [DIAL_RULE] },
        'voice-dial-plans-update': { description: 'Edited', normalizationRules: [DIAL_RULE] },
        'voice-network-regions-create': { identity: 'NewRegion' },
        'voice-network-regions-update': { description: 'Edited' },
        'voice-network-sites-create': { identity: 'NewSite', networkRegionId: 'ConfRegion' },
        'voice-network-sites-update': {
          description: 'Edited',
          networkRegionId: 'ConfRegion',
          enableLocationBasedRouting: true,
          emergencyCallingPolicy: 'ConfECP',
          emergencyCallRoutingPolicy: 'ConfECRP',
        },
        'voice-network-subnets-create': { identity: '10.52.0.0', maskBits: 16, networkSiteId: 'ConfSite' },
        'voice-network-subnets-update': { description: 'Edited', maskBits: 16, networkSiteId: 'ConfSite' },
        'voice-trusted-ips-create': { identity: '198.51.100.9', maskBits: 32 },
        'voice-trusted-ips-update': { description: 'Edited', maskBits: 32 },
        'voice-emergency-calling-policies-create': {
          identity: 'NewECP',
          notificationMode: 'conference-unmuted',
        },
        'voice-emergency-calling-policies-update': {
          description: 'Edited',
          notificationGroup: 'desk@own.example',
        },
        'voice-emergency-call-routing-policies-create': {
          identity: 'NewECRP',
          emergencyNumbers: [
            { emergencyDialString: '911', emergencyDialMask: '933', onlinePstnUsage: 'ConfUsage' },
          ],
        },
        'voice-emergency-call-routing-policies-update': {
          description: 'Edited',
          emergencyNumbers: [{ emergencyDialString: '112', onlinePstnUsage: 'ConfUsage' }],
        },
        'voice-pstn-gateways-create': { identity: 'new-sbc.example.com', sipSignalingPort: 5061 },
        'voice-pstn-gateways-update': { sipSignalingPort: 5062, enabled: true, maxConcurrentSessions: 10 },
        'voice-normalization-rules-build': {
          examples: [
            { dialed: '02079460123', normalized: '+442079460123' },
            { dialed: '01614960000', normalized: '+441614960000' },
          ],
        },
        'voice-simulate': {
          dialedNumber: '5550100',
          pending: [
            {
              policyName: 'OnlineVoiceRoute',
              identity: 'Conformance',
              data: { NumberPattern: '^\\+1(\\d{10})$' },
            },
          ],
        },
      };
      return bodies[operationId] ?? {};
    }

    /** Query that makes an operation's valid call harmless or possible: dry runs change nothing. */
    const VALID_QUERY: Record<string, string> = {
      'customers-delete': '?dryRun=true',
      'sites-add': '?dryRun=true',
      'prefixes-sync': '?dryRun=true',
      'user-templates-apply': '?dryRun=true',
      'user-templates-apply-file': '?dryRun=true',
      // Each role's valid call would queue the same rollback; the entry stays rollbackable for the next.
      'voice-audit-rollback': '?dryRun=true',
      'voice-routing-policy-groups-create': '?dryRun=true',
      'voice-routing-policy-groups-delete': '?dryRun=true',
      'voice-reconcile': '?dryRun=true',
    };

    function pathOf(path: string, operationId: string): string {
      // Each operation meets the state its success needs: the paused customer's site (not deployed) waits for its TXT
      // record, a paused, a failed and a queued task, a fresh and a connected wizard session.
      const paused = ['customers-delete', 'sites-verify-domain', 'sites-update'].includes(operationId);
      const values: Record<string, string> = {
        customerId: paused
          ? OTHER
          : ({ 'replication-group-members': DIRECTORY, 'customers-upgrade': ESSENTIALS }[operationId] ?? OWN),
        taskId:
          { 'tasks-resume': world.pausedTask, 'tasks-rerun': ids.failedTask }[operationId] ??
          ids.queuedTask ??
          '',
        siteName: paused ? OTHER : OWN,
        userId: CUSTOMER_ADMIN,
        groupId: world.groupId,
        sessionId:
          {
            'wizard-customer': ids.session,
            'wizard-connection': ids.session,
            'wizard-add-invitation': ids.invitationSession,
          }[operationId] ?? world.connectedSession,
        invitationId:
          operationId === 'wizard-add-invitation' ? world.completedInvitation : (ids.invitation ?? ''),
        // Only a built-in template can be reset to its shipped body.
        templateId: operationId === 'script-templates-reset' ? 'sbc-scenario7' : 'conformance',
        version: '1',
        regionId: ids.region ?? '',
        // The demo SBC serves the regions; the spare one serves none, so it may go.
        sbcId: operationId === 'settings-sbcs-delete' ? (ids.spareSbc ?? '') : SBC.name,
        alarmId: ids.alarm ?? '',
        entryId: `${'0'.repeat(26)}.${CUSTOMER_ADMIN}`,
        voiceEntryId: VOICE_ENTRY,
        usage: operationId === 'voice-pstn-usages-delete' ? 'SpareUsage' : 'ConfUsage',
        routeId: operationId === 'voice-routes-delete' ? 'SpareRoute' : 'ConfRoute',
        policyId: operationId === 'voice-routing-policies-delete' ? 'SparePolicy' : 'ConfPolicy',
        dialPlanId: operationId === 'voice-dial-plans-delete' ? 'SparePlan' : 'ConfPlan',
        networkRegionId: operationId === 'voice-network-regions-delete' ? 'SpareRegion' : 'ConfRegion',
        networkSiteId: operationId === 'voice-network-sites-delete' ? 'SpareSite' : 'ConfSite',
        subnetId: operationId === 'voice-network-subnets-delete' ? '10.51.0.0' : '10.50.0.0',
        trustedIpId: operationId === 'voice-trusted-ips-delete' ? '198.51.100.2' : '198.51.100.1',
        emergencyCallingPolicyId:
          operationId === 'voice-emergency-calling-policies-delete' ? 'SpareECP' : 'ConfECP',
        emergencyCallRoutingPolicyId:
          operationId === 'voice-emergency-call-routing-policies-delete' ? 'SpareECRP' : 'ConfECRP',
        gatewayId:
          operationId === 'voice-pstn-gateways-delete' ? 'spare-sbc.example.com' : 'conf-sbc.example.com',
        channelId: CHANNEL,
        subject: CHANNEL_ADMIN,
        rangeId: (operationId === 'number-ranges-delete' ? ids.spareRange : ids.range) ?? '',
        reservationId: ids.reservation ?? '',
        importId: ids.userImport ?? '',
        uid: ids.removedCustomer ?? '',
        userTemplateId:
          (operationId === 'user-templates-delete' ? ids.spareUserTemplate : ids.userTemplate) ?? '',
        bindingId: (operationId === 'lifecycle-bindings-delete' ? ids.spareBinding : ids.binding) ?? '',
      };
      return `/api/v1${path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new Error(`No value for path parameter {${name}} of ${operationId}.`);
        return encodeURIComponent(value);
      })}`;
    }

    return {
      stack,
      tokens,
      call,
      document,
      world,
      bodyOf,
      pathOf,
      validQuery: (operationId) => VALID_QUERY[operationId] ?? '',
    };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

/** The document's operations, reads, then changes, then deletions, so that what a call needs is still there. */
export function orderedOperations(
  document: Document,
): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths)
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    )
    .sort((a, b) => rank(a.method, a.operation.operationId) - rank(b.method, b.operation.operationId));
}

function rank(method: string, operationId: string): number {
  if (operationId === 'customers-delete') return 4;
  if (method === 'get') return 0;
  if (method === 'delete') return 3;
  return 1;
}
