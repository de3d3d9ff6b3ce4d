import type { Client } from '@microsoft/microsoft-graph-client';
import { GraphError, ResponseType } from '../m365/graph-error.js';
import { z } from 'zod';
import {
  PermanentTaskError,
  parseRetryAfter,
  TransientTaskError,
  httpTaskError,
} from '../tasks/task-definition.js';
import { renderPowerShell } from '../teams/powershell.js';
import { type TeamsAdminClient, TeamsAdminError } from '../teams/teams-admin-client.js';
import {
  type UserChange,
  type UserChangeApplier,
  type UserChangeTarget,
  USER_POLICY_TYPES,
} from './user-change.js';

/**
 * Applies day two's user changes to a customer's tenant through the public contracts (docs/day-two-contracts.md):
 * numbers through Graph's number management (a long-running operation, followed here), usage location through a
 * Graph user PATCH, Enterprise Voice and policy grants through the Teams admin API. Each change but a grant reads
 * the value in place first and writes only what differs, so a retried task sends nothing twice; a grant is always
 * sent (its read lags, and a grant sent twice is harmless).
 */
export interface UserChangeApplierDeps {
  /** Graph for the customer's tenant, with its credentials (`OnboardingPorts.graph`). */
  graph(customerId: string): Promise<Client>;
  /** The Teams admin API for the customer's tenant (`OnboardingPorts.teams`). */
  teams(customerId: string): Promise<TeamsAdminClient>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /**
   * How long one apply follows a number operation before leaving it to the task's next try (which reads the
   * user's number first); 60 s by default.
   */
  readonly operationBudgetMs?: number;
  /** Between polls of an operation when the service sends no Retry-After; 2 s by default. */
  readonly pollIntervalMs?: number;
  /** How long a customer's clients (and their tokens) are reused; 5 minutes by default. */
  readonly clientReuseMs?: number;
}

/** Graph's `numberType` for the numbers this product manages. */
const NUMBER_TYPE = 'directRouting';

const teamsUserSchema = z.looseObject({
  isEnterpriseVoiceEnabled: z.boolean().nullable().optional(),
  telephoneNumbers: z
    .array(
      z.looseObject({ telephoneNumber: z.string(), assignmentCategory: z.string().nullable().optional() }),
    )
    .nullable()
    .optional(),
});
type TeamsUser = z.output<typeof teamsUserSchema>;

const operationSchema = z.looseObject({
  status: z.string(),
  numbers: z
    .array(
      z.looseObject({
        status: z.string().nullable().optional(),
        statusDetail: z.string().nullable().optional(),
      }),
    )
    .nullable()
    .optional(),
});

const directoryUserSchema = z.looseObject({ usageLocation: z.string().nullable().optional() });

const errorSchema = z.looseObject({
  error: z.looseObject({ code: z.string().optional(), message: z.string().optional() }),
});

interface GraphAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export function createUserChangeApplier(deps: UserChangeApplierDeps): UserChangeApplier {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  const budgetMs = deps.operationBudgetMs ?? 60_000;
  const pollMs = deps.pollIntervalMs ?? 2_000;
  const reuseMs = deps.clientReuseMs ?? 5 * 60_000;

  /**
   * A customer's client, made once a while: each client's credential asks Entra ID for a token of its own, so a
   * client a change would cost a token request a row in a bulk import. Reused for minutes only, so that new
   * credentials of the customer are taken up soon.
   */
  const reused = <T>(make: (customerId: string) => Promise<T>) => {
    const made = new Map<string, { readonly until: number; readonly client: Promise<T> }>();
    return (customerId: string): Promise<T> => {
      const found = made.get(customerId);
      if (found && found.until > now()) return found.client;
      const client = make(customerId);
      made.set(customerId, { until: now() + reuseMs, client });
      client.catch(() => made.delete(customerId));
      return client;
    };
  };
  const graphOf = reused((customerId) => deps.graph(customerId));
  const teamsOf = reused((customerId) => deps.teams(customerId));

  /** One Graph call; its answer whatever the status (the SDK has already retried throttling by then). */
  const graphCall = async (
    graph: Client,
    what: string,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
  ): Promise<GraphAnswer> => {
    let response: Response;
    try {
      const request = graph.api(path).responseType(ResponseType.RAW);
      response = (await (method === 'GET'
        ? request.get()
        : method === 'POST'
          ? request.post(body)
          : request.patch(body))) as Response;
    } catch (error) {
      throw unreachable(`Microsoft Graph ${what}`, error);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  const graphFailure = (what: string, answer: GraphAnswer, target: UserChangeTarget): Error => {
    const error = errorSchema.safeParse(answer.body);
    const reason = error.success
      ? `${error.data.error.message ?? 'no message'}${error.data.error.code ? ` (${error.data.error.code})` : ''}`
      : `HTTP ${answer.status}`;
    if (answer.status === 404) {
      return new PermanentTaskError(
        `Microsoft Graph ${what}: the user ${target.userPrincipalName} was not found in the tenant: ${reason}`,
      );
    }
    if (answer.status === 401 || answer.status === 403) {
      return new PermanentTaskError(
        `Microsoft Graph refused ${what} for the customer's credentials: ${reason}. Numbers need TeamsTelephoneNumber.ReadWrite.All, reads TeamsUserConfiguration.Read.All, the usage location User.ReadWrite.All.`,
      );
    }
    return httpTaskError(
      answer.status,
      `Microsoft Graph ${what}: ${reason}`,
      answer.headers.get('retry-after'),
    );
  };

  const readTeamsUser = async (graph: Client, target: UserChangeTarget): Promise<TeamsUser> => {
    const what = 'GET /admin/teams/userConfigurations/{id}';
    const answer = await graphCall(
      graph,
      what,
      'GET',
      `/admin/teams/userConfigurations/${encodeURIComponent(target.userId)}`,
    );
    if (answer.status !== 200) throw graphFailure(what, answer, target);
    const parsed = teamsUserSchema.safeParse(answer.body);
    if (!parsed.success) {
      throw new TransientTaskError(
        `Microsoft Graph answered ${what} with an unexpected shape: ${z.prettifyError(parsed.error)}`,
      );
    }
    return parsed.data;
  };

  /** Follows an accepted number operation to its end, within the budget. */
  const follow = async (
    graph: Client,
    accepted: GraphAnswer,
    what: string,
    target: UserChangeTarget,
  ): Promise<void> => {
    const location = accepted.headers.get('location');
    if (!location) {
      throw new TransientTaskError(`Microsoft Graph accepted ${what} without a Location to follow.`);
    }
    const deadline = now() + budgetMs;
    let wait = waitOf(accepted.headers, pollMs);
    for (;;) {
      if (now() + wait > deadline) {
        throw new TransientTaskError(
          `Teams is still working on ${what} for ${target.userPrincipalName} after ${Math.round(budgetMs / 1000)} s; the next try checks the user's number first.`,
          wait,
        );
      }
      await sleep(wait);
      const answer = await graphCall(graph, `GET ${location}`, 'GET', location);
      if (answer.status !== 200) throw graphFailure(`the operation of ${what}`, answer, target);
      const operation = operationSchema.safeParse(answer.body);
      if (!operation.success) {
        throw new TransientTaskError(
          `Microsoft Graph answered the operation of ${what} with an unexpected shape: ${z.prettifyError(operation.error)}`,
        );
      }
      const status = operation.data.status.toLowerCase();
      if (status === 'succeeded') return;
      if (status === 'failed') {
        const detail = (operation.data.numbers ?? []).map((n) => n.statusDetail).find(Boolean);
        throw new PermanentTaskError(
          `Teams refused ${what} for ${target.userPrincipalName}: ${detail ?? 'the operation failed without a reason'}`,
        );
      }
      wait = waitOf(answer.headers, pollMs);
    }
  };

  const applyLineUri = async (target: UserChangeTarget, value: string | null): Promise<void> => {
    const graph = await graphOf(target.customerId);
    const wanted = value === null ? null : telephoneNumberOf(value);
    const current = primaryNumber(await readTeamsUser(graph, target));
    if (sameNumber(current, wanted)) return;
    const base = '/admin/teams/telephoneNumberManagement/numberAssignments';
    const [what, path, body] =
      wanted === null
        ? [
            `unassignNumber of ${current ?? ''}`,
            `${base}/unassignNumber`,
            { telephoneNumber: current, numberType: NUMBER_TYPE },
          ]
        : [
            `assignNumber of ${wanted}`,
            `${base}/assignNumber`,
            {
              telephoneNumber: wanted,
              assignmentTargetId: target.userId,
              numberType: NUMBER_TYPE,
              assignmentCategory: 'primary',
            },
          ];
    const accepted = await graphCall(graph, `POST ${path}`, 'POST', path, body);
    if (accepted.status === 200 || accepted.status === 204) return;
    if (accepted.status !== 202) throw graphFailure(what, accepted, target);
    await follow(graph, accepted, what, target);
  };

  const applyUsageLocation = async (target: UserChangeTarget, value: string | null): Promise<void> => {
    const graph = await graphOf(target.customerId);
    const path = `/users/${encodeURIComponent(target.userId)}`;
    const read = await graphCall(graph, 'GET /users/{id}', 'GET', `${path}?$select=usageLocation`);
    if (read.status !== 200) throw graphFailure('GET /users/{id}', read, target);
    const current = directoryUserSchema.safeParse(read.body).data?.usageLocation ?? null;
    if ((current ?? '').toUpperCase() === (value ?? '').toUpperCase()) return;
    const written = await graphCall(graph, 'PATCH /users/{id}', 'PATCH', path, { usageLocation: value });
    if (written.status >= 300) throw graphFailure('PATCH /users/{id} (usageLocation)', written, target);
  };

  const applyEnterpriseVoice = async (target: UserChangeTarget, value: boolean): Promise<void> => {
    const graph = await graphOf(target.customerId);
    if ((await readTeamsUser(graph, target)).isEnterpriseVoiceEnabled === value) return;
    const teams = await teamsOf(target.customerId);
    await teamsCall('Enterprise Voice', target, () => teams.setEnterpriseVoice(target.userId, value));
  };

  const applyPolicy = async (
    target: UserChangeTarget,
    change: Extract<UserChange, { field: 'policy' }>,
  ): Promise<void> => {
    const { teamsType } = USER_POLICY_TYPES[change.policyType];
    // Sent without reading first: effectivePolicyAssignments lags a grant by tens of seconds, so "already Global"
    // may be a grant of another policy on its way (decision 78); a grant sent again changes nothing.
    const wanted = change.value === null ? null : stripTag(change.value);
    const teams = await teamsOf(target.customerId);
    await teamsCall(`the ${teamsType} grant`, target, () =>
      teams.grantPolicy(target.userId, teamsType, wanted),
    );
  };

  return {
    render(target, change) {
      const identity = target.userPrincipalName;
      switch (change.field) {
        case 'line-uri':
          return change.value === null
            ? `${renderPowerShell({ cmdlet: 'Remove-CsPhoneNumberAssignment', params: { Identity: identity } })} -RemoveAll`
            : renderPowerShell({
                cmdlet: 'Set-CsPhoneNumberAssignment',
                params: {
                  Identity: identity,
                  PhoneNumber: telephoneNumberOf(change.value),
                  PhoneNumberType: 'DirectRouting',
                },
              });
        case 'enterprise-voice':
          return renderPowerShell({
            cmdlet: 'Set-CsPhoneNumberAssignment',
            params: { Identity: identity, EnterpriseVoiceEnabled: change.value },
          });
        case 'usage-location':
          // Graph, not Teams: the line a person would type is Microsoft Graph PowerShell's.
          return renderPowerShell({
            cmdlet: 'Update-MgUser',
            params: { UserId: identity, UsageLocation: change.value },
          });
        case 'policy':
          return renderPowerShell({
            cmdlet: USER_POLICY_TYPES[change.policyType].cmdlet,
            params: { Identity: identity, PolicyName: change.value === null ? null : stripTag(change.value) },
          });
      }
    },

    async apply(target, change) {
      switch (change.field) {
        case 'line-uri':
          return applyLineUri(target, change.value);
        case 'usage-location':
          return applyUsageLocation(target, change.value);
        case 'enterprise-voice':
          return applyEnterpriseVoice(target, change.value);
        case 'policy':
          return applyPolicy(target, change);
      }
    },
  };
}

/** Runs a Teams admin API write, its failures as task errors. */
async function teamsCall(what: string, target: UserChangeTarget, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof TeamsAdminError)) throw unreachable(`The Teams admin API (${what})`, error);
    const message = `The Teams admin API refused ${what} for ${target.userPrincipalName}: ${error.message}`;
    if (error.transient) {
      throw new TransientTaskError(
        message,
        error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000,
      );
    }
    if (error.status === 404) {
      throw new PermanentTaskError(
        `The Teams admin API does not know the user ${target.userPrincipalName}: ${error.message}`,
      );
    }
    throw new PermanentTaskError(message);
  }
}

/**
 * A call that got no HTTP answer: a credential Entra ID refuses will not heal by retrying; anything else (the
 * network, a timeout) may.
 */
function unreachable(what: string, error: unknown): Error {
  if (error instanceof PermanentTaskError || error instanceof TransientTaskError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof GraphError && error.statusCode > 0) {
    return httpTaskError(error.statusCode, `${what} failed: ${message}`);
  }
  if (/AADSTS\d+|invalid_grant|invalid_client|unauthorized_client/.test(message)) {
    return new PermanentTaskError(`${what}: the customer's credentials were refused: ${message}`);
  }
  return new TransientTaskError(`${what} failed: ${message}`, undefined, { cause: error });
}

/** The wait a Retry-After asks for, else the poll interval. */
function waitOf(headers: Headers, fallbackMs: number): number {
  return parseRetryAfter(headers.get('retry-after')) ?? fallbackMs;
}

/** A Line URI as Graph's `telephoneNumber`: `+<E.164>` with its `;ext=…`, without `tel:`. */
export function telephoneNumberOf(lineUri: string): string {
  return lineUri.trim().replace(/^tel:/i, '');
}

function primaryNumber(user: TeamsUser): string | null {
  const numbers = user.telephoneNumbers ?? [];
  return (
    numbers.find((n) => n.assignmentCategory?.toLowerCase() === 'primary')?.telephoneNumber ??
    numbers[0]?.telephoneNumber ??
    null
  );
}

function sameNumber(a: string | null, b: string | null): boolean {
  const key = (n: string | null) => (n === null ? null : telephoneNumberOf(n).toLowerCase());
  return key(a) === key(b);
}

function stripTag(name: string): string {
  return name.replace(/^tag:/i, '');
}
