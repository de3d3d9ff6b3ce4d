import { z } from 'zod';
import { safeDisplayText } from '../validation/display-text.js';
import { templateProblems } from './invitation-templates.js';
import type { RateLimitSettings } from './provider-settings.js';

const guid = z
  .string({ error: 'is required' })
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'must be a GUID (Application (client) ID)',
  );

const secret = (label: string) =>
  z
    .string({ error: `${label} must be text.` })
    .min(1, `${label} cannot be empty.`)
    .max(1024, `${label} can be at most 1024 characters long.`)
    .refine((value) => value.trim() === value, `${label} cannot start or end with blanks.`);

const absoluteUrl = (label: string) =>
  z
    .url({ error: `${label} must be an absolute URL.` })
    .refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || ['localhost', '127.0.0.1'].includes(url.hostname);
    }, `${label} must use https:// (http:// only for localhost).`)
    .transform((value) => value.replace(/\/+$/, ''));

const email = (label: string) => z.email({ error: `${label} must be an email address.` }).max(254);

const template = (label: string, max: number) =>
  z
    .string({ error: `${label} is required.` })
    .min(1, `${label} is required.`)
    .max(max, `${label} can be at most ${max} characters long.`)
    .superRefine((value, ctx) => {
      for (const message of templateProblems(value)) {
        ctx.addIssue({ code: 'custom', message, params: { code: 'invalid_template' } });
      }
    });

export const tokenAppInputSchema = z
  .strictObject({
    clientId: guid,
    clientSecret: secret('Client Secret')
      .optional()
      .meta({ description: 'Write-only; omit to keep the saved one.' }),
    redirectUri: absoluteUrl('Redirect Uri')
      .refine(
        (value) => value.endsWith('/authenticate/OAuth2Callback'),
        'Redirect Uri must end with /authenticate/OAuth2Callback.',
      )
      .optional()
      .meta({ description: 'Defaults to {PUBLIC_BASE_URL}/authenticate/OAuth2Callback.' }),
    deviceCode: z.boolean({ error: 'deviceCode must be true or false.' }).default(false).meta({
      description:
        'Offer the device-code flow ("Start authentication" with a code) on the invitation page. Off unless set: a device code can be forwarded to anyone (a known phishing vector), the browser sign-in cannot.',
    }),
  })
  .meta({ id: 'TokenAppSettingsInput' });

export const invitationSettingsInputSchema = z
  .strictObject({
    subjectTemplate: template('Invitation Subject', 256),
    emailTemplate: template('Invitation Email', 20_000),
    portalUrl: absoluteUrl('Customer Authentication Portal Url')
      .optional()
      .meta({ description: 'Defaults to {PUBLIC_BASE_URL}/authenticate.' }),
    validityDays: z
      .number({ error: 'Validity must be a number of days.' })
      .int('Validity must be a whole number of days.')
      .min(1, 'An invitation must stay valid at least 1 day.')
      .max(30, 'An invitation can stay valid at most 30 days.'),
  })
  .meta({ id: 'InvitationSettingsInput' });

const smtpSchema = z
  .strictObject({
    transport: z.literal('smtp'),
    from: email('From'),
    host: z
      .string({ error: 'Host is required.' })
      .regex(/^[A-Za-z0-9.-]{1,253}$/, 'Host must be a host name or IP address.'),
    port: z.number({ error: 'Port is required.' }).int().min(1).max(65535),
    enableSsl: z.boolean().default(true),
    username: z.string().max(256).optional(),
    password: secret('Password').optional().meta({ description: 'Write-only; omit to keep the saved one.' }),
    confirmPassword: z.string().optional(),
  })
  .refine((value) => value.password === undefined || value.password === value.confirmPassword, {
    message: 'Password and ConfirmPassword do not match.',
    path: ['confirmPassword'],
  });

const acsSchema = z.strictObject({
  transport: z.literal('acs'),
  endpoint: absoluteUrl('Endpoint').meta({ description: 'https://<resource>.communication.azure.com' }),
  senderAddress: email('Sender address'),
  accessKey: secret('Access key').optional().meta({ description: 'Write-only; omit to keep the saved one.' }),
});

export const emailSettingsInputSchema = z
  .discriminatedUnion('transport', [smtpSchema, acsSchema], {
    error: 'transport must be "smtp" or "acs".',
  })
  .meta({ id: 'EmailSettingsInput' });

const LOGO_MAX_BYTES = 256 * 1024;

export const whiteLabelInputSchema = z
  .strictObject({
    displayName: safeDisplayText(
      z
        .string({ error: 'Display name is required.' })
        .trim()
        .min(1, 'Display name is required.')
        .max(100, 'Display name can be at most 100 characters long.'),
      'Display name',
    ),
    logo: z
      .strictObject({
        contentType: z.enum(['image/png', 'image/svg+xml']),
        base64: z
          .base64({ error: 'The logo must be base64.' })
          .refine(
            (value) => Buffer.from(value, 'base64').length <= LOGO_MAX_BYTES,
            'The logo can be at most 256 KB.',
          ),
      })
      .nullable()
      .optional(),
  })
  .meta({ id: 'WhiteLabelInput' });

export const tokenAppViewSchema = z
  .object({
    clientId: z.string().nullable(),
    clientSecretSaved: z
      .boolean()
      .meta({ description: 'The manual\'s "Password already saved"; the value is never returned.' }),
    redirectUri: z.string(),
    deviceCode: z.boolean().meta({ description: 'Whether the invitation page offers the device-code flow.' }),
  })
  .meta({ id: 'TokenAppSettings' });

export const invitationSettingsViewSchema = z
  .object({
    subjectTemplate: z.string(),
    emailTemplate: z.string(),
    portalUrl: z.string(),
    validityDays: z.number().int(),
    placeholders: z.array(z.string()),
  })
  .meta({ id: 'InvitationSettings' });

export const emailSettingsViewSchema = z
  .object({
    transport: z.enum(['smtp', 'acs']).nullable(),
    from: z.string().optional(),
    host: z.string().optional(),
    port: z.number().optional(),
    enableSsl: z.boolean().optional(),
    username: z.string().optional(),
    passwordSaved: z.boolean().optional(),
    endpoint: z.string().optional(),
    senderAddress: z.string().optional(),
    accessKeySaved: z.boolean().optional(),
  })
  .meta({ description: 'transport is null until Email Settings are saved.' })
  .meta({ id: 'EmailSettings' });

export const whiteLabelViewSchema = z
  .object({
    displayName: z.string(),
    logo: z.object({ contentType: z.string(), base64: z.string() }).nullable(),
  })
  .meta({ id: 'WhiteLabel' });

/** The defaults of System > Rate Limits (decisions §70). */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  windowSeconds: 60,
  providerAdminRequests: 120,
  adminRequests: 30,
  sbcRequests: 60,
};

/** The bounds keep a limit meaningful: never zero (an operation nobody may call), never beyond what protects. */
const RATE_BOUNDS = { windowMin: 10, windowMax: 3600, requestsMax: 10_000 } as const;

function requestsPerWindow(label: string) {
  return z
    .int({ error: `${label} must be a whole number.` })
    .min(1, `${label} must be at least 1.`)
    .max(RATE_BOUNDS.requestsMax, `${label} can be at most ${RATE_BOUNDS.requestsMax}.`);
}

const rateLimitFields = {
  windowSeconds: z
    .int({ error: 'Window must be a whole number of seconds.' })
    .min(RATE_BOUNDS.windowMin, `Window must be at least ${RATE_BOUNDS.windowMin} seconds.`)
    .max(RATE_BOUNDS.windowMax, `Window can be at most ${RATE_BOUNDS.windowMax} seconds.`)
    .meta({ description: 'The window the counts below are per, in seconds.' }),
  providerAdminRequests: requestsPerWindow('Provider admin requests').meta({
    description: "Requests reaching an SBC or a customer's tenant per window, per provider admin.",
  }),
  adminRequests: requestsPerWindow('Admin requests').meta({
    description: "The same per channel or customer admin; at most the provider admins' limit.",
  }),
  sbcRequests: requestsPerWindow('SBC requests').meta({
    description: 'Requests reaching one SBC per window, every caller and customer together.',
  }),
};

export const rateLimitsInputSchema = z
  .strictObject(rateLimitFields)
  .refine((limits) => limits.adminRequests <= limits.providerAdminRequests, {
    path: ['adminRequests'],
    message: "Admin requests can be at most the provider admins' limit.",
  })
  .meta({ id: 'RateLimitsInput' });

export const rateLimitsViewSchema = z.object(rateLimitFields).meta({ id: 'RateLimits' });
