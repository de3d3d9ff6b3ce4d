import type { z } from 'zod';
import { domainErrors, VersionConflictError } from '../errors/domain-errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { type TablesSource, tablesFrom } from '../storage/azure-tables.js';
import { DEFAULT_RATE_LIMITS, rateLimitsInputSchema } from './provider-settings-schemas.js';
import {
  DEFAULT_INVITATION_EMAIL,
  DEFAULT_INVITATION_SUBJECT,
  INVITATION_PLACEHOLDERS,
} from './invitation-templates.js';
import type {
  emailSettingsInputSchema,
  emailSettingsViewSchema,
  invitationSettingsInputSchema,
  invitationSettingsViewSchema,
  tokenAppInputSchema,
  tokenAppViewSchema,
  whiteLabelInputSchema,
  whiteLabelViewSchema,
} from './provider-settings-schemas.js';
import type {
  EmailSettings,
  InvitationSettings,
  ProviderSettingsReader,
  RateLimitSettings,
  TokenAppSettings,
  WhiteLabel,
} from './provider-settings.js';

export const PROVIDER_SETTINGS_TABLE = 'providersettings';
const PARTITION = 'provider';
const DEFAULT_VALIDITY_DAYS = 5;

type Section = 'token-app' | 'invitations' | 'email' | 'white-label' | 'rate-limits';

/** One section: plain fields as JSON, secrets sealed and bound to their section and field. */
interface SectionRecord {
  readonly fields: Record<string, unknown>;
  readonly secrets: Record<string, string>;
}

export interface ProviderSettingsService extends ProviderSettingsReader {
  tokenAppView(): Promise<z.output<typeof tokenAppViewSchema>>;
  putTokenApp(input: z.output<typeof tokenAppInputSchema>): Promise<z.output<typeof tokenAppViewSchema>>;
  invitationView(): Promise<z.output<typeof invitationSettingsViewSchema>>;
  putInvitation(
    input: z.output<typeof invitationSettingsInputSchema>,
  ): Promise<z.output<typeof invitationSettingsViewSchema>>;
  emailView(): Promise<z.output<typeof emailSettingsViewSchema>>;
  putEmail(
    input: z.output<typeof emailSettingsInputSchema>,
  ): Promise<z.output<typeof emailSettingsViewSchema>>;
  whiteLabelView(): Promise<z.output<typeof whiteLabelViewSchema>>;
  putWhiteLabel(
    input: z.output<typeof whiteLabelInputSchema>,
  ): Promise<z.output<typeof whiteLabelViewSchema>>;
  putRateLimits(input: RateLimitSettings): Promise<RateLimitSettings>;
}

export type ProviderSettingsOptions = TablesSource & {
  readonly secretBox: SecretBox;
  readonly publicBaseUrl: string;
  /** The name the customer-facing pages and emails show until the operator sets a white label. */
  readonly defaultDisplayName: string;
};

type SectionEntity = { partitionKey: string; rowKey: string; fields: string; secrets: string };

export function createProviderSettingsService(options: ProviderSettingsOptions): ProviderSettingsService {
  const table = tablesFrom(options).table<SectionEntity>(PROVIDER_SETTINGS_TABLE);
  const slot = (section: Section, field: string) => `provider-settings/${section}/${field}`;

  async function read(section: Section): Promise<SectionRecord | null> {
    const found = await table.get(PARTITION, section);
    if (!found) return null;
    const fields = JSON.parse(found.value.fields) as Record<string, unknown>;
    const secrets = JSON.parse(found.value.secrets) as Record<string, string>;
    // Secrets sealed with a retired key are written back sealed with the current one (the token app's secret and
    // the SMTP password are read at every use, so a rotation reaches them within minutes).
    let resealed = false;
    for (const [field, sealed] of Object.entries(secrets)) {
      const again = options.secretBox.reseal(sealed, slot(section, field));
      if (again !== null) [secrets[field], resealed] = [again, true];
    }
    if (resealed) {
      try {
        await table.replace({ ...found.value, secrets: JSON.stringify(secrets) }, found.etag);
      } catch (error) {
        // Saved meanwhile, with the current key: the next read sees that.
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    return { fields, secrets };
  }

  async function write(
    section: Section,
    fields: Record<string, unknown>,
    secrets: Record<string, string>,
  ): Promise<void> {
    await table.upsert({
      partitionKey: PARTITION,
      rowKey: section,
      fields: JSON.stringify(fields),
      secrets: JSON.stringify(secrets),
    });
  }

  /** A new secret is sealed; an omitted one keeps what is saved, when that still applies. */
  function keepOrSeal(
    section: Section,
    field: string,
    value: string | undefined,
    saved: string | undefined,
  ): string | undefined {
    return value === undefined ? saved : options.secretBox.seal(value, slot(section, field));
  }

  const open = (section: Section, field: string, sealed: string | undefined) =>
    sealed === undefined ? undefined : options.secretBox.open(sealed, slot(section, field));

  const defaultRedirectUri = `${options.publicBaseUrl}/authenticate/OAuth2Callback`;
  const defaultPortalUrl = `${options.publicBaseUrl}/authenticate`;

  async function invitation(): Promise<InvitationSettings> {
    const fields = (await read('invitations'))?.fields ?? {};
    return {
      subjectTemplate:
        typeof fields.subjectTemplate === 'string' ? fields.subjectTemplate : DEFAULT_INVITATION_SUBJECT,
      emailTemplate:
        typeof fields.emailTemplate === 'string' ? fields.emailTemplate : DEFAULT_INVITATION_EMAIL,
      portalUrl: typeof fields.portalUrl === 'string' ? fields.portalUrl : defaultPortalUrl,
      validityDays: typeof fields.validityDays === 'number' ? fields.validityDays : DEFAULT_VALIDITY_DAYS,
    };
  }

  async function whiteLabel(): Promise<WhiteLabel> {
    const fields = (await read('white-label'))?.fields ?? {};
    const logo = fields.logo as WhiteLabel['logo'] | null | undefined;
    return {
      displayName: typeof fields.displayName === 'string' ? fields.displayName : options.defaultDisplayName,
      ...(logo ? { logo } : {}),
    };
  }

  async function rateLimits(): Promise<RateLimitSettings> {
    // Saved through the same schema; a row an older version wrote, or none, reads as the defaults.
    const saved = rateLimitsInputSchema.safeParse((await read('rate-limits'))?.fields);
    return saved.success ? saved.data : DEFAULT_RATE_LIMITS;
  }

  async function emailRecord(): Promise<SectionRecord | null> {
    return read('email');
  }

  function emailViewOf(record: SectionRecord | null): z.output<typeof emailSettingsViewSchema> {
    if (!record) return { transport: null };
    const f = record.fields;
    if (f.transport === 'acs') {
      return {
        transport: 'acs',
        endpoint: String(f.endpoint),
        senderAddress: String(f.senderAddress),
        accessKeySaved: record.secrets.accessKey !== undefined,
      };
    }
    return {
      transport: 'smtp',
      from: String(f.from),
      host: String(f.host),
      port: Number(f.port),
      enableSsl: Boolean(f.enableSsl),
      ...(typeof f.username === 'string' ? { username: f.username } : {}),
      passwordSaved: record.secrets.password !== undefined,
    };
  }

  async function tokenAppView() {
    const record = await read('token-app');
    return {
      clientId: typeof record?.fields.clientId === 'string' ? record.fields.clientId : null,
      clientSecretSaved: record?.secrets.clientSecret !== undefined,
      redirectUri:
        typeof record?.fields.redirectUri === 'string' ? record.fields.redirectUri : defaultRedirectUri,
      deviceCode: record?.fields.deviceCode === true,
    };
  }

  async function invitationView() {
    return { ...(await invitation()), placeholders: INVITATION_PLACEHOLDERS.map((p) => `{{${p}}}`) };
  }

  async function whiteLabelView() {
    const label = await whiteLabel();
    return { displayName: label.displayName, logo: label.logo ?? null };
  }

  return {
    async tokenApp(): Promise<TokenAppSettings | null> {
      const record = await read('token-app');
      const clientSecret = open('token-app', 'clientSecret', record?.secrets.clientSecret);
      if (!record || typeof record.fields.clientId !== 'string' || !clientSecret) return null;
      return {
        clientId: record.fields.clientId,
        clientSecret,
        redirectUri:
          typeof record.fields.redirectUri === 'string' ? record.fields.redirectUri : defaultRedirectUri,
        deviceCode: record.fields.deviceCode === true,
      };
    },
    invitation,
    async email(): Promise<EmailSettings | null> {
      const record = await emailRecord();
      if (!record) return null;
      const f = record.fields;
      if (f.transport === 'acs') {
        const accessKey = open('email', 'accessKey', record.secrets.accessKey);
        if (!accessKey) return null;
        return {
          transport: 'acs',
          endpoint: String(f.endpoint),
          senderAddress: String(f.senderAddress),
          accessKey,
        };
      }
      const password = open('email', 'password', record.secrets.password);
      return {
        transport: 'smtp',
        from: String(f.from),
        host: String(f.host),
        port: Number(f.port),
        enableSsl: Boolean(f.enableSsl),
        ...(typeof f.username === 'string' && f.username ? { username: f.username } : {}),
        ...(password ? { password } : {}),
      };
    },
    whiteLabel,

    tokenAppView,
    async putTokenApp(input) {
      const saved = await read('token-app');
      const clientSecret = keepOrSeal(
        'token-app',
        'clientSecret',
        input.clientSecret,
        saved?.secrets.clientSecret,
      );
      if (!clientSecret) {
        throw domainErrors.validation([
          {
            field: 'clientSecret',
            in: 'body',
            code: 'required',
            message: 'Client Secret is required the first time.',
          },
        ]);
      }
      await write(
        'token-app',
        {
          clientId: input.clientId,
          ...(input.redirectUri ? { redirectUri: input.redirectUri } : {}),
          deviceCode: input.deviceCode,
        },
        { clientSecret },
      );
      return tokenAppView();
    },
    invitationView,
    async putInvitation(input) {
      await write('invitations', { ...input }, {});
      return invitationView();
    },
    async emailView() {
      return emailViewOf(await emailRecord());
    },
    async putEmail(input) {
      const saved = await emailRecord();
      const sameTransport = saved?.fields.transport === input.transport;
      if (input.transport === 'acs') {
        const accessKey = keepOrSeal(
          'email',
          'accessKey',
          input.accessKey,
          sameTransport ? saved?.secrets.accessKey : undefined,
        );
        if (!accessKey) {
          throw domainErrors.validation([
            {
              field: 'accessKey',
              in: 'body',
              code: 'required',
              message: 'Access key is required for Azure Communication Services.',
            },
          ]);
        }
        const { accessKey: _secret, ...fields } = input;
        await write('email', fields, { accessKey });
      } else {
        const password = keepOrSeal(
          'email',
          'password',
          input.password,
          sameTransport ? saved?.secrets.password : undefined,
        );
        const { password: _secret, confirmPassword: _confirm, ...fields } = input;
        await write('email', fields, password ? { password } : {});
      }
      return emailViewOf(await emailRecord());
    },
    whiteLabelView,
    async putWhiteLabel(input) {
      await write(
        'white-label',
        { displayName: input.displayName, ...(input.logo ? { logo: input.logo } : {}) },
        {},
      );
      return whiteLabelView();
    },
    rateLimits,
    async putRateLimits(input) {
      await write('rate-limits', { ...input }, {});
      return rateLimits();
    },
  };
}
