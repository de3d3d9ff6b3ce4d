import type { z } from 'zod';
import type { AuditStore } from '../audit/audit-store.js';
import type {
  AppRegistrationInput,
  CredentialService,
  DiscardedCredential,
} from '../credentials/credential-service.js';
import type { CustomerCredential } from '../credentials/credential.js';
import type { CustomerStore } from '../customers/customer-store.js';
import { allocate, type LicenseLimits } from '../customers/license-pool.js';
import { DomainError, domainErrors } from '../errors/domain-errors.js';
import type { CustomerDraft, InvitationService, InvitationView } from '../invitations/invitation-service.js';
import type { OnboardingSettingsReader } from '../onboarding/onboarding-settings-service.js';
import { dedupe, type DialPlanPrefix, MAX_PREFIXES } from '../onboarding/prefixes.js';
import { type SbcSiteInput, sbcConfigurationsFor } from '../onboarding/sbc-site.js';
import {
  type SbcChoiceFields,
  type SbcChoiceInput,
  sbcChoiceErrors,
  type SbcChoicesReader,
  sbcChoicesOf,
} from '../onboarding/sbc-choices.js';
import type { Region } from '../onboarding/onboarding-settings.js';
import {
  type dnsPageSchema,
  EMPTY_PAGES,
  type m365RoutingPageSchema,
  type sbcScriptsPageSchema,
} from '../onboarding/wizard-pages.js';
import type { SecretBox } from '../secrets/secret-box.js';
import {
  type M365Settings,
  newWizardSessionId,
  WIZARD_SESSION_TTL_MS,
  type WizardConnection,
  type WizardSession,
} from './wizard-session.js';
import { VersionConflictError } from '../errors/domain-errors.js';
import type { WizardSessionStore } from './wizard-session-store.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';

export interface M365SettingsInput {
  readonly overrideAdminDomain: string;
  readonly grantAdminAccessTo: string | null;
  readonly teamsNotificationAppId: string | null;
  readonly teamsNotificationSecret?: string;
}

/** What a Reset discarded: the credentials the session had captured, and what the operator must ask for. */
export interface WizardResetOutcome {
  readonly credentialsDeleted: DiscardedCredential | null;
}

export interface WizardService {
  open(owner: string): Promise<WizardSession>;
  get(id: string, owner: string): Promise<WizardSession>;
  reset(id: string, owner: string): Promise<WizardResetOutcome>;
  /**
   * The timer: deletes the credentials of sessions that ended without Submit and were never read again (or whose
   * cleanup a crash interrupted), and hands those whose Submit created the customer over to it.
   */
  sweep(): Promise<{ deleted: number; released: number }>;
  setCustomer(id: string, owner: string, draft: CustomerDraft): Promise<WizardSession>;
  inviteItAdministrator(id: string, owner: string, invitationEmail: string): Promise<WizardSession>;
  useAppRegistration(id: string, owner: string, input: AppRegistrationInput): Promise<WizardSession>;
  /** "Sign in now": marks the session as waiting for Microsoft; returns the customer the consent is for. */
  beginSignIn(id: string, owner: string): Promise<{ session: WizardSession; customerId: string }>;
  /** Microsoft redirected back with a working grant. */
  completeSignIn(id: string, owner: string, credential: CustomerCredential): Promise<WizardSession>;
  pendingInvitations(id: string, owner: string): Promise<InvitationView[]>;
  addInvitation(id: string, owner: string, invitationId: string): Promise<WizardSession>;
  saveM365Settings(id: string, owner: string, input: M365SettingsInput): Promise<WizardSession>;
  saveDns(id: string, owner: string, input: z.output<typeof dnsPageSchema>): Promise<WizardSession>;
  saveM365Routing(
    id: string,
    owner: string,
    input: z.output<typeof m365RoutingPageSchema>,
  ): Promise<WizardSession>;
  saveSbc(id: string, owner: string, input: SbcSiteInput): Promise<WizardSession>;
  savePrefixes(id: string, owner: string, prefixes: readonly DialPlanPrefix[]): Promise<WizardSession>;
  saveSbcScripts(
    id: string,
    owner: string,
    input: z.output<typeof sbcScriptsPageSchema>,
  ): Promise<WizardSession>;
  /** Submit queued `taskId`: the session is closed; a second Submit or a page edit is refused with that task. */
  markSubmitted(id: string, owner: string, taskId: string): Promise<WizardSession>;
}

/** A submitted session is closed: the customer exists, and its site is what an edit must change now. */
export function wizardSubmittedError(taskId: string): DomainError {
  return new DomainError('conflict', {
    code: 'wizard_submitted',
    title: 'Wizard session already submitted',
    detail:
      'This onboarding was submitted and its task queued (see task); change the site with PATCH /api/v1/customers/{customerId}/sites/{siteName} and deploy it again.',
    taskId,
  });
}

export interface WizardServiceOptions {
  readonly store: WizardSessionStore;
  readonly customers: CustomerStore;
  readonly license: LicenseLimits;
  readonly invitations: InvitationService;
  readonly credentials: CredentialService;
  readonly secretBox: SecretBox;
  readonly onboardingSettings: OnboardingSettingsReader;
  /** The chosen SBC's carriers, CAC profiles and dial plans, to refuse what its onboarding script would. */
  readonly sbcChoices: SbcChoicesReader;
  /** Where an expiry that deleted credentials is recorded: nobody may be there to read the session's answer. */
  readonly audit: Pick<AuditStore, 'record'>;
  readonly now?: () => Date;
}

/**
 * The sweep leaves a session alone this long past its expiry: a step that read it just before it expired may
 * still be renewing it.
 */
export const SWEEP_GRACE_MS = 60_000;

export function createWizardService(options: WizardServiceOptions): WizardService {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const expiry = () => new Date(now().getTime() + WIZARD_SESSION_TTL_MS).toISOString();

  /**
   * Ends a session without Submit: first the credentials it captured (a crash after that leaves only a session,
   * which the next read ends), then the session. The credential is found by the customer it was captured for.
   */
  async function abandon(sessionId: string, customerId: string | null): Promise<DiscardedCredential | null> {
    const discarded = customerId ? await options.credentials.discardHeld(customerId, sessionId) : null;
    await store.delete(sessionId);
    return discarded;
  }

  async function recordExpiry(sessionId: string, discarded: DiscardedCredential): Promise<void> {
    await options.audit.record({
      at: now().toISOString(),
      who: { subject: 'system', name: 'Wizard session expiry', roles: [] },
      operation: 'wizard-expired',
      method: 'EXPIRY',
      path: `/api/v1/wizard-sessions/${sessionId}`,
      // The customer was never created: an operation about no one customer.
      customerId: null,
      status: 410,
      request: { notice: discarded.message },
      changes: {
        credentials: {
          before: {
            customerId: discarded.customerId,
            authenticationMethod: discarded.method,
            tenantId: discarded.tenantId,
          },
          after: null,
        },
      },
    });
  }

  /** Loads the caller's live session and renews it, as every step of the wizard does. */
  async function touch(id: string, owner: string): Promise<WizardSession> {
    const session = await store.get(id);
    if (!session || session.owner !== owner) throw domainErrors.notFound('There is no such wizard session.');
    if (Date.parse(session.expiresAt) <= now().getTime()) {
      const discarded = await abandon(id, session.draft?.shortName ?? null);
      if (discarded) await recordExpiry(id, discarded);
      throw new DomainError('gone', {
        code: 'wizard_session_expired',
        title: 'Wizard session expired',
        detail:
          'The wizard session expired after 10 minutes without activity; start again.' +
          (discarded ? ` ${discarded.message}` : ''),
      });
    }
    return store.replace(session, { ...session, expiresAt: expiry() });
  }

  async function change(
    id: string,
    owner: string,
    apply: (
      session: WizardSession,
    ) => Promise<Partial<Pick<WizardSession, 'draft' | 'connection' | 'm365Settings' | 'pages'>>>,
  ): Promise<WizardSession> {
    const session = await touch(id, owner);
    if (session.submittedTaskId) throw wizardSubmittedError(session.submittedTaskId);
    const changes = await apply(session);
    try {
      return await store.replace(session, { ...session, ...changes, expiresAt: expiry() });
    } catch (error) {
      if (error instanceof VersionConflictError) {
        throw domainErrors.versionMismatch('The wizard session changed in another window; reload it.');
      }
      throw error;
    }
  }

  function requireDraft(session: WizardSession): CustomerDraft {
    if (!session.draft) {
      throw new DomainError('conflict', {
        code: 'wizard_step_missing',
        title: 'Customer not entered',
        detail: 'Enter the customer on the first page first.',
      });
    }
    return session.draft;
  }

  function requireConnected(session: WizardSession): void {
    if (session.connection?.status !== 'authentication-complete') {
      throw new DomainError('conflict', {
        code: 'wizard_step_missing',
        title: 'Not connected',
        detail: "Connect the customer's Microsoft 365 tenant first.",
      });
    }
  }

  async function requireRegion(regionId: string): Promise<Region> {
    const region = await options.onboardingSettings.region(regionId);
    if (!region) {
      throw domainErrors.validation([
        {
          field: 'regionId',
          in: 'body',
          code: 'unknown_region',
          message: `There is no region "${regionId}".`,
        },
      ]);
    }
    return region;
  }

  /** Refuses, with the valid values, what the region's SBC does not have (`fields` says where it sits in the body). */
  async function requireOnSbc(region: Region, input: SbcChoiceInput, fields: SbcChoiceFields): Promise<void> {
    const device = await options.onboardingSettings.sbc(region.sbcId);
    if (!device) {
      throw domainErrors.validation([
        {
          field: 'regionId',
          in: 'body',
          code: 'unknown_sbc',
          message: `The region "${region.name}" names no Known SBC.`,
        },
      ]);
    }
    const errors = sbcChoiceErrors(await sbcChoicesOf(options.sbcChoices, device), input, fields);
    if (errors.length > 0) throw domainErrors.validation(errors);
  }

  function requireNoConnection(session: WizardSession): void {
    if (session.connection) {
      throw new DomainError('conflict', {
        code: 'wizard_already_connected',
        title: 'Already connected',
        detail: 'This onboarding already has a connection method; press Reset to start over.',
      });
    }
  }

  return {
    async open(owner) {
      const at = now().toISOString();
      return store.create({
        id: newWizardSessionId(),
        owner,
        draft: null,
        connection: null,
        m365Settings: null,
        pages: EMPTY_PAGES,
        submittedTaskId: null,
        createdAt: at,
        expiresAt: expiry(),
      });
    },

    get: touch,

    async reset(id, owner) {
      const session = await store.get(id);
      if (!session || session.owner !== owner)
        throw domainErrors.notFound('There is no such wizard session.');
      return { credentialsDeleted: await abandon(id, session.draft?.shortName ?? null) };
    },

    async sweep() {
      let deleted = 0;
      let released = 0;
      for (const { customerId, heldByWizardSession: sessionId } of await options.credentials.held()) {
        if (!sessionId) continue;
        const session = await store.get(sessionId);
        if (session && Date.parse(session.expiresAt) + SWEEP_GRACE_MS > now().getTime()) continue;
        if (await options.customers.get(customerId)) {
          // Submit created the customer and stopped before handing the credential over.
          await options.credentials.release(customerId, sessionId);
          released++;
          continue;
        }
        const discarded = await abandon(sessionId, customerId);
        if (discarded) {
          await recordExpiry(sessionId, discarded);
          deleted++;
        }
      }
      return { deleted, released };
    },

    setCustomer(id, owner, draft) {
      return change(id, owner, async (session) => {
        requireNoConnection(session);
        if (await options.customers.get(draft.shortName)) {
          throw domainErrors.conflict(
            'short_name_taken',
            'Short Name already in use',
            `A customer with the Short Name "${draft.shortName}" already exists; Short Names are unique without regard to case.`,
            [
              {
                field: 'shortName',
                in: 'body',
                code: 'short_name_taken',
                message: 'Unique name per customer.',
              },
            ],
          );
        }
        // Checked now so the operator hears it on the first page; the license is taken when the customer is created.
        allocate(options.license, (await options.customers.getAllocation()).allocation, {
          customers: 1,
          users: draft.licensedUsers,
        });
        return { draft };
      });
    },

    inviteItAdministrator(id, owner, invitationEmail) {
      return change(id, owner, async (session) => {
        requireNoConnection(session);
        const draft = requireDraft(session);
        requireConsentable(draft);
        await options.invitations.invite(draft, invitationEmail, 'invite');
        const connection: WizardConnection = {
          method: 'invite',
          status: 'pending-authentication',
          invitationId: draft.shortName,
        };
        return { connection };
      });
    },

    useAppRegistration(id, owner, input) {
      return change(id, owner, async (session) => {
        requireNoConnection(session);
        const draft = requireDraft(session);
        requireConsentable(draft);
        const credential = await options.credentials.connectAppRegistration(draft.shortName, input, {
          wizardSessionId: session.id,
        });
        return {
          connection: {
            method: 'app-registration',
            status: 'authentication-complete',
            tenantId: credential.tenantId,
          },
          m365Settings: initialM365Settings(credential.tenantId, credential.initialDomain),
        };
      });
    },

    async beginSignIn(id, owner) {
      let customerId = '';
      const session = await change(id, owner, async (current) => {
        // A sign-in still waiting may be started again: the operator closed Microsoft's window.
        if (!(
          current.connection?.method === 'sign-in' && current.connection.status === 'pending-authentication'
        )) {
          requireNoConnection(current);
        }
        const draft = requireDraft(current);
        requireConsentable(draft);
        customerId = draft.shortName;
        return { connection: { method: 'sign-in', status: 'pending-authentication' } };
      });
      return { session, customerId };
    },

    completeSignIn(id, owner, credential) {
      return change(id, owner, async (current) => {
        if (current.connection?.method !== 'sign-in' || current.draft?.shortName !== credential.customerId) {
          throw new DomainError('conflict', {
            code: 'wizard_step_missing',
            title: 'Sign-in not started',
            detail: 'This wizard session is not waiting for a sign-in.',
          });
        }
        return {
          connection: { method: 'sign-in', status: 'authentication-complete', tenantId: credential.tenantId },
          m365Settings: initialM365Settings(credential.tenantId, credential.initialDomain),
        };
      });
    },

    async pendingInvitations(id, owner) {
      await touch(id, owner);
      return options.invitations.list({ pendingOnly: true });
    },

    addInvitation(id, owner, invitationId) {
      return change(id, owner, async (session) => {
        // The operator who sent the invitation from this very session may add it once it is complete.
        if (session.connection?.invitationId !== invitationId) requireNoConnection(session);
        const invitation = await options.invitations.get(invitationId);
        if (invitation.status !== 'authentication-complete') {
          throw new DomainError('conflict', {
            code: 'invitation_pending',
            title: 'Authentication pending',
            detail: `"${invitation.id}" has not completed authentication yet.`,
          });
        }
        const credential = await options.credentials.get(invitation.id);
        if (!credential)
          throw new DomainError('conflict', {
            code: 'invitation_pending',
            title: 'Authentication pending',
            detail: `"${invitation.id}" has no credentials yet.`,
          });
        return {
          draft: {
            fullName: invitation.fullName,
            shortName: invitation.id,
            licenseType: invitation.licenseType,
            licensedUsers: invitation.licensedUsers,
          },
          connection: {
            method: 'invite',
            status: 'authentication-complete',
            invitationId: invitation.id,
            tenantId: credential.tenantId,
          },
          m365Settings: initialM365Settings(credential.tenantId, credential.initialDomain),
        };
      });
    },

    saveDns(id, owner, input) {
      return change(id, owner, async (session) => {
        const draft = requireDraft(session);
        // Manual DNS is the Hosted Essentials method: the operator names the domain they provisioned.
        if (input.method !== 'manual') {
          requireConsentable(draft);
          requireConnected(session);
        }
        if (input.regionId) await requireRegion(input.regionId);
        if (input.licensePlan) {
          const plans = await options.onboardingSettings.licensePlans();
          if (!plans.some((p) => p.name === input.licensePlan)) {
            throw domainErrors.validation([
              {
                field: 'licensePlan',
                in: 'body',
                code: 'unknown_license_plan',
                message: `"${input.licensePlan}" is not an eligible license plan.`,
              },
            ]);
          }
        }
        return { pages: { ...session.pages, dns: input } };
      });
    },

    saveM365Routing(id, owner, input) {
      return change(id, owner, async (session) => {
        requireConsentable(requireDraft(session));
        requireConnected(session);
        return { pages: { ...session.pages, m365Routing: input } };
      });
    },

    saveSbc(id, owner, input) {
      return change(id, owner, async (session) => {
        const draft = requireDraft(session);
        if (draft.licenseType !== 'hosted-essentials') requireConnected(session);
        if (!input.configureSbc) {
          return {
            pages: {
              ...session.pages,
              sbc: {
                configureSbc: false,
                sbcSiteName: input.sbcSiteName ?? draft.shortName,
                onlinePstnGateway: input.onlinePstnGateway ?? null,
                sbcConfiguration: null,
                regionId: null,
                carrier: null,
                carrierRegistration: null,
                cacProfile: null,
              },
            },
          };
        }
        const allowed = sbcConfigurationsFor(draft.licenseType);
        if (input.sbcConfiguration && !allowed.includes(input.sbcConfiguration)) {
          throw domainErrors.validation([
            {
              field: 'sbcConfiguration',
              in: 'body',
              code: 'not_offered',
              message: `${draft.licenseType} offers ${allowed.join(' and ')}.`,
            },
          ]);
        }
        if (input.regionId) {
          await requireOnSbc(
            await requireRegion(input.regionId),
            { carrier: input.carrier ?? null, cacProfile: input.cacProfile ?? null, prefixes: [] },
            { carrier: 'carrier', cacProfile: 'cacProfile', prefixes: 'prefixes' },
          );
        }
        const registration = input.carrierRegistration;
        return {
          pages: {
            ...session.pages,
            sbc: {
              configureSbc: true,
              sbcSiteName: input.sbcSiteName ?? draft.shortName,
              onlinePstnGateway:
                input.onlinePstnGateway ?? session.pages.m365Routing?.onlinePstnGateway ?? null,
              sbcConfiguration: input.sbcConfiguration ?? null,
              regionId: input.regionId ?? null,
              carrier: input.carrier ?? null,
              carrierRegistration: registration
                ? {
                    username: registration.username,
                    passwordSealed: options.secretBox.seal(
                      registration.password,
                      `wizard/${session.id}/carrier-registration`,
                    ),
                    mainLine: registration.mainLine,
                    hostName: registration.hostName,
                  }
                : null,
              cacProfile: input.cacProfile ?? null,
            },
          },
        };
      });
    },

    savePrefixes(id, owner, prefixes) {
      return change(id, owner, async (session) => {
        requireDraft(session);
        const unique = dedupe(prefixes);
        if (unique.length > MAX_PREFIXES) {
          throw domainErrors.validation([
            {
              field: 'prefixes',
              in: 'body',
              code: 'too_many',
              message: `At most ${MAX_PREFIXES} prefixes per customer.`,
            },
          ]);
        }
        const sbc = session.pages.sbc;
        const region =
          sbc?.configureSbc && sbc.regionId ? await options.onboardingSettings.region(sbc.regionId) : null;
        // Without the SBC page's region there is no SBC to ask yet; Submit checks the prefixes again.
        if (region) {
          await requireOnSbc(
            region,
            { carrier: null, cacProfile: null, prefixes: unique },
            { carrier: 'carrier', cacProfile: 'cacProfile', prefixes: 'prefixes' },
          );
        }
        return { pages: { ...session.pages, prefixes: unique } };
      });
    },

    saveSbcScripts(id, owner, input) {
      return change(id, owner, async (session) => {
        requireDraft(session);
        return { pages: { ...session.pages, sbcScripts: input } };
      });
    },

    markSubmitted(id, owner, taskId) {
      // A page saved in another window at the same moment must not leave the session open.
      return withOptimisticRetry(async () => {
        const session = await touch(id, owner);
        if (session.submittedTaskId === taskId) return session;
        if (session.submittedTaskId) throw wizardSubmittedError(session.submittedTaskId);
        return store.replace(session, { ...session, submittedTaskId: taskId });
      });
    },

    saveM365Settings(id, owner, input) {
      return change(id, owner, async (session) => {
        if (
          session.connection?.status !== 'authentication-complete' ||
          !session.m365Settings ||
          !session.draft
        ) {
          throw new DomainError('conflict', {
            code: 'wizard_step_missing',
            title: 'Not connected',
            detail: "Connect the customer's Microsoft 365 tenant first.",
          });
        }
        if (input.teamsNotificationAppId && session.draft.licenseType !== 'hosted-essentials-plus') {
          throw domainErrors.validation([
            {
              field: 'teamsNotificationAppId',
              in: 'body',
              code: 'not_applicable',
              message: 'The Microsoft Teams Notification Service is offered for Hosted Essentials + only.',
            },
          ]);
        }
        const sealedSecret =
          input.teamsNotificationSecret !== undefined
            ? options.secretBox.seal(input.teamsNotificationSecret, `wizard/${session.id}/teams-notification`)
            : input.teamsNotificationAppId
              ? session.m365Settings.teamsNotificationSecretSealed
              : null;
        return {
          m365Settings: {
            ...session.m365Settings,
            overrideAdminDomain: input.overrideAdminDomain,
            grantAdminAccessTo: input.grantAdminAccessTo,
            teamsNotificationAppId: input.teamsNotificationAppId,
            teamsNotificationSecretSealed: sealedSecret,
          },
        };
      });
    },
  };
}

function requireConsentable(draft: CustomerDraft): void {
  if (draft.licenseType === 'hosted-essentials') {
    throw new DomainError('conflict', {
      code: 'no_m365_for_essentials',
      title: 'No Microsoft 365 for Hosted Essentials',
      detail: 'Hosted Essentials customers have no Microsoft 365 side to connect.',
    });
  }
}

function initialM365Settings(tenantId: string, initialDomain: string | null): M365Settings {
  return {
    overrideAdminDomain: initialDomain ?? '',
    tenantId,
    grantAdminAccessTo: null,
    teamsNotificationAppId: null,
    teamsNotificationSecretSealed: null,
  };
}
