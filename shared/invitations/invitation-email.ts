import type { EmailMessage } from '../email/email-message.js';
import { renderTemplate } from '../provider/invitation-templates.js';
import type { InvitationSettings, WhiteLabel } from '../provider/provider-settings.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** The operator's templates, rendered as plain text and as the same text in HTML with the link clickable. */
export function renderInvitationEmail(
  to: string,
  settings: InvitationSettings,
  whiteLabel: WhiteLabel,
  values: { readonly customerId: string; readonly linkId: string },
): EmailMessage {
  const placeholders = {
    CustomerId: values.customerId,
    CustomerAuthenticationPortalUrl: settings.portalUrl,
    InvitationId: values.linkId,
    ProviderName: whiteLabel.displayName,
  };
  const subject = renderTemplate(settings.subjectTemplate, placeholders).replace(/\s+/g, ' ').trim();
  const text = renderTemplate(settings.emailTemplate, placeholders);
  const body = escapeHtml(text)
    .replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`)
    .replace(/\n/g, '<br>\n');
  const html = `<!doctype html><html><body style="font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.5">\n<p><strong>${escapeHtml(whiteLabel.displayName)}</strong></p>\n<p>${body}</p>\n</body></html>`;
  return { to, subject, text, html };
}
