import type HandlebarsApi from 'handlebars';
import { lazyRequire } from '../platform/lazy.js';

const handlebars = lazyRequire<typeof HandlebarsApi>('handlebars');

/** The manual's placeholders, plus the provider's name so that the default text carries no example brand. */
export const INVITATION_PLACEHOLDERS = [
  'CustomerId',
  'CustomerAuthenticationPortalUrl',
  'InvitationId',
  'ProviderName',
] as const;
export type InvitationPlaceholder = (typeof INVITATION_PLACEHOLDERS)[number];

export const DEFAULT_INVITATION_SUBJECT =
  'Welcome {{CustomerId}} to {{ProviderName}} Microsoft Teams calling';

/** The manual's default Invitation Email (L1593-L1621), with {{ProviderName}} where it names its example brand. */
export const DEFAULT_INVITATION_EMAIL = `Dear Administrator of {{CustomerId}},
We at {{ProviderName}} welcome you to join our Microsoft Teams calling service.
Please activate your tenant by connecting to the link below and authenticate with your M365 UC Administrator account:
{{CustomerAuthenticationPortalUrl}}/{{InvitationId}}
Please Note:
- UC admin role requirements:
  o Application Administrator
  o Skype for Business Admin
  o Teams Communications Administrator
The Authentication process will run against your Microsoft M365 Tenant, we will not know or save your password.
Revoke Token Authentication: you are able to revoke the authentication at any time. Revoking the authentication will stop the service.
Thank you and best regards,
{{ProviderName}} Support Team`;

interface AstNode {
  readonly type: string;
  readonly path?: { readonly type: string; readonly original: string };
  readonly params?: readonly unknown[];
  readonly hash?: unknown;
  readonly value?: string;
}

/** Why a template would not render as the operator expects, or an empty list. */
export function templateProblems(template: string): string[] {
  let program: { body: readonly AstNode[] };
  try {
    program = handlebars().parse(template) as unknown as { body: readonly AstNode[] };
  } catch (error) {
    return [`The template does not compile: ${(error as Error).message.split('\n')[0]}`];
  }
  const problems: string[] = [];
  for (const node of program.body) {
    if (node.type === 'ContentStatement') {
      const stray = /(?<!\{)\{\s*([A-Za-z]+)\s*\}(?!\})/.exec(node.value ?? '');
      if (stray) problems.push(`"${stray[0]}" has single braces; placeholders are written {{${stray[1]}}}.`);
      continue;
    }
    if (node.type === 'CommentStatement') continue;
    const name = node.path?.original ?? '';
    const allowed = (INVITATION_PLACEHOLDERS as readonly string[]).includes(name);
    if (node.type !== 'MustacheStatement' || !allowed || node.params?.length || node.hash) {
      problems.push(
        `{{${name || '…'}}} is not a placeholder; use ${INVITATION_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}.`,
      );
    }
  }
  return problems;
}

export function renderTemplate(
  template: string,
  values: Readonly<Record<InvitationPlaceholder, string>>,
): string {
  return handlebars().compile(template, { noEscape: true, strict: true })(values);
}
