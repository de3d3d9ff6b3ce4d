/**
 * Entra ID errors an operator or a customer's admin can act on, in words they understand. Keyed by AADSTS code
 * (see reference/external-apis.md); anything else keeps Entra's own description.
 */
export const AADSTS_MESSAGES: Readonly<Record<string, string>> = {
  AADSTS65001: 'The administrator has not consented to use the application!',
  AADSTS65004: 'The administrator declined to consent to use the application.',
  AADSTS50173:
    "The customer's consent is no longer valid (the admin's password changed or the grant was revoked); the customer's admin must authenticate again.",
  AADSTS50078: "Multi-factor authentication has expired; the customer's admin must sign in again.",
  AADSTS50076:
    "The customer's tenant requires multi-factor authentication; the customer's admin must sign in again.",
  AADSTS7000215: "Invalid client secret: enter the secret's Value, not its Secret ID.",
  AADSTS7000222: 'The client secret has expired: create a new one in the app registration.',
  AADSTS700016:
    "Application (Client) ID not found in the customer's tenant: check the ID and that the app registration exists there.",
  AADSTS90002: 'Tenant not found: check the Tenant ID.',
  AADSTS900023: 'The Tenant ID is not valid: enter the Directory (tenant) ID, a GUID.',
  AADSTS70000: 'The request was declined by the customer.',
  AADSTS70020: 'The sign-in code expired before it was used; start the authentication again.',
};

export function aadstsCode(text: string): string | null {
  return /AADSTS\d+/.exec(text)?.[0] ?? null;
}

/** The clear message for an Entra failure, whatever shape its error takes. */
export function describeEntraFailure(text: string): { code: string | null; message: string } {
  const code = aadstsCode(text);
  const known = code ? AADSTS_MESSAGES[code] : undefined;
  if (known) return { code, message: known };
  const description = text.split(/\r?\n/)[0]?.replace(/^[^:]*AADSTS\d+:\s*/, '') ?? text;
  return { code, message: description || 'Microsoft Entra ID refused the request.' };
}
