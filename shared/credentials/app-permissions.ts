import type { Client } from '@microsoft/microsoft-graph-client';
import { DomainError } from '../errors/domain-errors.js';
import { graphCall, GraphRequestError } from '../m365/graph-domains.js';

/**
 * The Microsoft Graph application permissions a customer's own app registration needs ("Use App Registration"),
 * named as Graph names them (contracts/graph/permissions.json), each with a read the product makes anyway and
 * that Graph refuses (403 `Authorization_RequestDenied`) without it. The Teams admin API needs no Graph
 * permission: its token is checked on its own.
 */
export const APP_REGISTRATION_PERMISSIONS = [
  {
    permission: 'Organization.Read.All',
    purpose: 'the tenant, its domains and its licences (onboarding)',
    probe: (graph: Client) => graph.api('/organization').select(['id']).get(),
  },
  {
    // Write, not read: onboarding creates the activation user and gives it a licence. A read-only grant passes
    // this read and is then refused at CreateActivationUser; no read can tell them apart.
    permission: 'User.ReadWrite.All',
    purpose: 'reads users (replication) and creates the activation user (onboarding)',
    probe: (graph: Client) => graph.api('/users').top(1).select(['id']).get(),
  },
  {
    permission: 'Domain.ReadWrite.All',
    purpose: "creates and verifies the gateway's domain (onboarding)",
    probe: (graph: Client) => graph.api('/domains').select(['id']).get(),
  },
  {
    permission: 'GroupMember.Read.All',
    purpose: 'groups and their members (replication)',
    probe: (graph: Client) => graph.api('/groups/delta').query({ $deltatoken: 'latest' }).get(),
  },
  {
    permission: 'TeamsUserConfiguration.Read.All',
    purpose: "users' Teams voice settings (replication)",
    probe: (graph: Client) => graph.api('/admin/teams/userConfigurations').top(1).get(),
  },
  {
    // Write, not read: day two assigns numbers (assignNumber / unassignNumber). A read-only grant passes this
    // read and is then refused at the first assignment, as for User.ReadWrite.All.
    permission: 'TeamsTelephoneNumber.ReadWrite.All',
    purpose: "assigns and removes users' phone numbers (user changes)",
    probe: (graph: Client) =>
      graph.api('/admin/teams/telephoneNumberManagement/numberAssignments').top(1).get(),
  },
] as const;

export type AppRegistrationPermission = (typeof APP_REGISTRATION_PERMISSIONS)[number]['permission'];

/**
 * Makes each permission's read; the permissions Graph refused, in the list's order. Any other failure (Graph
 * down, throttled beyond the SDK's retries) is not the registration's fault and says so.
 */
export async function missingPermissions(graph: Client): Promise<AppRegistrationPermission[]> {
  const outcomes = await Promise.all(
    APP_REGISTRATION_PERMISSIONS.map(async ({ permission, probe }) => {
      try {
        await graphCall(`read for ${permission}`, () => probe(graph));
        return null;
      } catch (error) {
        if (!(error instanceof GraphRequestError)) throw error;
        if (error.status === 403) return permission;
        throw new DomainError('upstream_failed', {
          code: 'graph_unavailable',
          title: 'Microsoft Graph did not answer',
          detail: error.message,
          cause: error,
        });
      }
    }),
  );
  return outcomes.filter((p): p is AppRegistrationPermission => p !== null);
}

/** The problem a connect answers when the registration lacks permissions: one field error per permission. */
export function permissionsMissingError(missing: readonly AppRegistrationPermission[]): DomainError {
  const described = missing.map((name) => {
    const entry = APP_REGISTRATION_PERMISSIONS.find((p) => p.permission === name);
    return `${name} (${entry?.purpose ?? ''})`;
  });
  return new DomainError('unprocessable', {
    code: 'app_registration_permission_missing',
    title: 'The app registration lacks permissions',
    detail:
      `The app registration lacks the Microsoft Graph application permission${missing.length > 1 ? 's' : ''} ` +
      `${described.join(', ')}. Add ${missing.length > 1 ? 'them' : 'it'} under API permissions, grant admin ` +
      'consent, then connect again.',
    fields: missing.map((name) => ({
      field: 'clientId',
      in: 'body',
      code: name,
      message: `Microsoft Graph application permission ${name} is not granted.`,
    })),
  });
}
