import type { AccessStore } from '../access/access-store.js';
import type { CredentialService } from '../credentials/credential-service.js';
import { type Customer, refuseWhileBeingRemoved } from '../customers/customer.js';
import type { CustomerService } from '../customers/customer-service.js';
import { DomainError, domainErrors, VersionConflictError } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskRecord } from '../tasks/task-record.js';
import type { ScriptTemplateService } from '../templates/script-template-service.js';
import { type WizardService, wizardSubmittedError } from '../wizard/wizard-service.js';
import type { WizardSession } from '../wizard/wizard-session.js';
import type { CustomerSite } from './customer-site.js';
import type { CustomerSiteStore, VersionedSite } from './customer-site-store.js';
import type { OnboardingSettingsService } from './onboarding-settings-service.js';
import { type AddSiteInput, buildSite, pagesFromAddSite, type SitePages } from './site-builder.js';
import { nullIfNotFound } from '../errors/not-found.js';
import { MAX_PREFIXES } from './prefixes.js';
import type { SbcChoicesReader } from './sbc-choices.js';
import { patchedSite, type SitePatch } from './site-patch.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import { assertSiteClaims, type SharedResourceDeps, writeWithSiteClaims } from './shared-resources.js';

export interface OnboardingService {
  /** The wizard's Submit: creates the customer and its first site, and queues CreateCustomer. */
  submit(sessionId: string, owner: string, options: { dryRun: boolean }): Promise<TaskRecord>;
  /** Add SBC Site for an existing customer; queues SBCInit. */
  addSite(customerId: string, input: AddSiteInput, options: { dryRun: boolean }): Promise<TaskRecord>;
  /** Runs a site's onboarding again (or its dry run): what exists already is left as it is. */
  redeploySite(customerId: string, siteName: string, options: { dryRun: boolean }): Promise<TaskRecord>;
  /** "Verify And Configure Domain": resumes the site's task that waits for the TXT record. */
  verifyDomain(customerId: string, siteName: string): Promise<TaskRecord>;
  /** Delete: the customer becomes "Ready for remove" and TenantRemove is queued (a dry run changes nothing). */
  remove(
    customerId: string,
    options: { dryRun: boolean; ifMatch?: string },
  ): Promise<{ task: TaskRecord; customer: Customer }>;
  sites(customerId: string): Promise<CustomerSite[]>;
  site(customerId: string, siteName: string): Promise<CustomerSite>;
  /** The site with its version, for If-Match. */
  versionedSite(customerId: string, siteName: string): Promise<VersionedSite>;
  /**
   * Fixes a site that is not deployed yet (e.g. its onboarding failed at ProgramSbc): the next deploy uses the new
   * values. With `ifMatch` only if the site is unchanged since it was read; without, the last writer wins.
   */
  updateSite(
    customerId: string,
    siteName: string,
    patch: SitePatch,
    ifMatch?: string,
  ): Promise<VersionedSite>;
}

const ONBOARDING_TYPES = new Set(['CreateCustomer', 'SBCInit']);

export interface OnboardingServiceDeps {
  readonly customers: CustomerService;
  readonly wizard: Pick<WizardService, 'get' | 'markSubmitted'>;
  readonly credentials: Pick<CredentialService, 'get' | 'release'>;
  readonly onboardingSettings: OnboardingSettingsService;
  readonly secretBox: SecretBox;
  readonly sites: CustomerSiteStore;
  readonly templates: ScriptTemplateService;
  readonly taskEngine: TaskEngine;
  readonly sbcChoices: SbcChoicesReader;
  /** The wizard's "Grant Admin Access to", made a grant once replication finds the user. */
  readonly access: Pick<AccessStore, 'requestCustomerAdmin'>;
  /** What other customers hold on the shared SBCs and DNS zone: a site may not claim it. */
  readonly siteClaims: SharedResourceDeps;
}

export function createOnboardingService(services: OnboardingServiceDeps): OnboardingService {
  const { sites } = services;
  const engine = () => services.taskEngine;
  const deps = () => ({
    settings: services.onboardingSettings,
    templates: services.templates,
    secretBox: services.secretBox,
    sbcChoices: services.sbcChoices,
    now: new Date(),
  });

  function pagesOf(session: WizardSession): SitePages {
    const { pages } = session;
    const draft = session.draft;
    const registration = pages.sbc?.carrierRegistration ?? null;
    return {
      siteName: pages.sbc?.sbcSiteName ?? draft?.shortName ?? '',
      dns: pages.dns,
      m365Routing: pages.m365Routing,
      sbc: pages.sbc
        ? {
            configureSbc: pages.sbc.configureSbc,
            onlinePstnGateway: pages.sbc.onlinePstnGateway,
            sbcConfiguration: pages.sbc.sbcConfiguration,
            regionId: pages.sbc.regionId,
            carrier: pages.sbc.carrier,
            carrierRegistration: registration
              ? {
                  username: registration.username,
                  password: services.secretBox.open(
                    registration.passwordSealed,
                    `wizard/${session.id}/carrier-registration`,
                  ),
                  mainLine: registration.mainLine,
                  hostName: registration.hostName,
                }
              : null,
            cacProfile: pages.sbc.cacProfile,
          }
        : null,
      prefixes: pages.prefixes,
      sbcScripts: pages.sbcScripts,
    };
  }

  async function existingCustomer(id: string): Promise<Customer> {
    return services.customers.get(id);
  }

  return {
    async submit(sessionId, owner, { dryRun }) {
      const session = await services.wizard.get(sessionId, owner);
      if (session.submittedTaskId) throw wizardSubmittedError(session.submittedTaskId);
      const draft = session.draft;
      if (!draft) {
        throw new DomainError('conflict', {
          code: 'wizard_step_missing',
          title: 'Customer not entered',
          detail: 'Enter the customer on the first page first.',
        });
      }
      const connected = session.connection?.status === 'authentication-complete';
      if (draft.licenseType !== 'hosted-essentials' && !connected) {
        throw new DomainError('conflict', {
          code: 'wizard_step_missing',
          title: 'Not connected',
          detail: "Connect the customer's Microsoft 365 tenant first.",
        });
      }
      const site = await buildSite(
        { shortName: draft.shortName, licenseType: draft.licenseType, connected },
        pagesOf(session),
        deps(),
      );
      await assertSiteClaims(services.siteClaims, {
        site,
        before: null,
        tenantId: session.connection?.tenantId ?? null,
      });
      if (dryRun) {
        return engine().start({
          type: 'CreateCustomer',
          customerId: draft.shortName,
          dryRun: true,
          input: {
            customerId: draft.shortName,
            siteName: site.siteName,
            preview: {
              customer: {
                shortName: draft.shortName,
                fullName: draft.fullName,
                licenseType: draft.licenseType,
              },
              site,
            },
          },
        });
      }
      const idempotencyKey = `submit-${session.id}`;
      const claims = { site, before: null, tenantId: session.connection?.tenantId ?? null };
      await writeWithSiteClaims(services.siteClaims, claims, async () => {
        const existing = await nullIfNotFound(services.customers.get(draft.shortName));
        // A Submit sent twice at once (a double click), or retried after failing before it recorded its task in the
        // session, finds its own customer and task.
        if (!existing) await services.customers.create(draft);
        else if (!(await sites.get(draft.shortName, site.siteName))) {
          throw domainErrors.conflict(
            'short_name_taken',
            'Short Name already in use',
            `A customer with the Short Name "${draft.shortName}" already exists.`,
          );
        }
        // The credentials the session captured are the customer's now: replication starts (the sweep finishes this
        // should it not happen).
        await services.credentials.release(draft.shortName, session.id);
        const grantTo = session.m365Settings?.grantAdminAccessTo;
        if (grantTo) {
          await services.access.requestCustomerAdmin({
            customerId: draft.shortName,
            userPrincipalName: grantTo,
            requestedAt: new Date().toISOString(),
            requestedBy: owner,
          });
        }
        try {
          await sites.create(site);
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
        }
      });
      const task = await engine().start({
        type: 'CreateCustomer',
        customerId: draft.shortName,
        input: { customerId: draft.shortName, siteName: site.siteName },
        idempotencyKey,
      });
      await services.wizard.markSubmitted(session.id, owner, task.id);
      return task;
    },

    async addSite(customerId, input, { dryRun }) {
      const customer = await existingCustomer(customerId);
      refuseWhileBeingRemoved(customer);
      if (await sites.get(customer.shortName, input.siteName)) {
        throw domainErrors.conflict(
          'site_name_taken',
          'Sbc Site Name already in use',
          `Customer "${customer.shortName}" has a site named "${input.siteName}".`,
          [
            {
              field: 'siteName',
              in: 'body',
              code: 'site_name_taken',
              message: 'Unique Sbc Site Name per customer.',
            },
          ],
        );
      }
      const credential = await services.credentials.get(customer.shortName);
      const site = await buildSite(
        { shortName: customer.shortName, licenseType: customer.licenseType, connected: Boolean(credential) },
        pagesFromAddSite(input),
        deps(),
      );
      const claims = { site, before: null, tenantId: credential?.tenantId ?? null };
      await assertSiteClaims(services.siteClaims, claims);
      if (dryRun) {
        return engine().start({
          type: 'SBCInit',
          customerId: customer.shortName,
          dryRun: true,
          input: {
            customerId: customer.shortName,
            siteName: site.siteName,
            preview: {
              customer: {
                shortName: customer.shortName,
                fullName: customer.fullName,
                licenseType: customer.licenseType,
              },
              site,
            },
          },
        });
      }
      await writeWithSiteClaims(services.siteClaims, claims, async () => {
        try {
          await sites.create(site);
        } catch (error) {
          if (error instanceof VersionConflictError) {
            throw domainErrors.conflict(
              'site_name_taken',
              'Sbc Site Name already in use',
              `Customer "${customer.shortName}" has a site named "${input.siteName}".`,
            );
          }
          throw error;
        }
      });
      return engine().start({
        type: 'SBCInit',
        customerId: customer.shortName,
        input: { customerId: customer.shortName, siteName: site.siteName },
      });
    },

    async redeploySite(customerId, siteName, { dryRun }) {
      const customer = await existingCustomer(customerId);
      const site = await this.site(customer.shortName, siteName);
      return engine().start({
        type: 'SBCInit',
        customerId: customer.shortName,
        dryRun,
        input: { customerId: customer.shortName, siteName: site.siteName },
      });
    },

    async verifyDomain(customerId, siteName) {
      const customer = await existingCustomer(customerId);
      const site = await this.site(customer.shortName, siteName);
      const page = await engine().list({ customerId: customer.shortName, state: 'paused', top: 50 });
      // The list does not carry the input: a customer has a paused onboarding task or two, read whole.
      const paused = await Promise.all(
        page.tasks.filter((task) => ONBOARDING_TYPES.has(task.type)).map((task) => engine().get(task.id)),
      );
      const waiting = paused.find(
        (task) =>
          (task?.input as { siteName?: string } | null)?.siteName?.toLowerCase() ===
          site.siteName.toLowerCase(),
      );
      if (!waiting) {
        throw new DomainError('conflict', {
          code: 'nothing_to_verify',
          title: 'No domain waits for verification',
          detail: `No task of site "${site.siteName}" waits for its TXT record; the domain is verified already or its onboarding has not reached that step.`,
        });
      }
      return engine().resume(waiting.id);
    },

    async remove(customerId, { dryRun, ifMatch }) {
      const current = await existingCustomer(customerId);
      if (dryRun) {
        const task = await engine().start({
          type: 'TenantRemove',
          customerId: current.shortName,
          dryRun: true,
          input: { customerId: current.shortName },
        });
        return { task, customer: current };
      }
      const customer = await services.customers.markForRemoval(current.shortName, ifMatch);
      const task = await engine().start({
        type: 'TenantRemove',
        customerId: customer.shortName,
        input: { customerId: customer.shortName },
        idempotencyKey: `remove-${customer.createdAt}`,
      });
      return { task, customer };
    },

    async sites(customerId) {
      const customer = await existingCustomer(customerId);
      return (await sites.list(customer.shortName)).map((s) => s.site);
    },

    async site(customerId, siteName) {
      return (await this.versionedSite(customerId, siteName)).site;
    },

    async versionedSite(customerId, siteName) {
      const found = await sites.get(customerId, siteName);
      if (!found) throw domainErrors.notFound(`Customer "${customerId}" has no SBC site "${siteName}".`);
      return found;
    },

    async updateSite(customerId, siteName, patch, ifMatch) {
      const conditional = ifMatch !== undefined && ifMatch !== '*';
      const stale = () =>
        domainErrors.versionMismatch(`Site "${siteName}" was changed since you read it; reload it.`);
      let first = true;
      // Without If-Match a write that loses a race is tried again on the new version: the last writer wins.
      return withOptimisticRetry(async () => {
        const customer = await existingCustomer(customerId);
        refuseWhileBeingRemoved(customer);
        if (customer.state === 'deployed') {
          throw new DomainError('conflict', {
            code: 'site_deployed',
            title: 'The site is deployed',
            detail: `Customer "${customer.shortName}" is Deployed: its SBC keeps what onboarding programmed, and a re-deploy would not program it again. Change prefixes with PUT …/sites/{siteName}/prefixes.`,
          });
        }
        const found = await this.versionedSite(customer.shortName, siteName);
        if (first && conditional && ifMatch !== found.etag) throw stale();
        first = false;
        const next = await patchedSite(found.site, patch, deps());
        const claims = {
          site: next,
          before: found.site,
          tenantId: (await services.credentials.get(customer.shortName))?.tenantId ?? null,
        };
        await assertSiteClaims(services.siteClaims, claims);
        if (patch.prefixes) {
          const others = (await sites.list(customer.shortName))
            .filter((s) => s.site.siteName.toLowerCase() !== found.site.siteName.toLowerCase())
            .reduce((n, s) => n + s.site.prefixes.length, 0);
          if (others + next.prefixes.length > MAX_PREFIXES) {
            throw domainErrors.validation([
              {
                field: 'prefixes',
                in: 'body',
                code: 'too_many_prefixes',
                message: `A customer can have at most ${MAX_PREFIXES} prefixes; its other sites have ${others}.`,
              },
            ]);
          }
        }
        try {
          return await writeWithSiteClaims(services.siteClaims, claims, () =>
            sites.replace({ ...next, updatedAt: new Date().toISOString() }, found.etag),
          );
        } catch (error) {
          if (error instanceof VersionConflictError && conditional) throw stale();
          throw error;
        }
      });
    },
  };
}
