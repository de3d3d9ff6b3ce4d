import { describe, expect, it } from 'vitest';
import {
  CALLBACK_FAILED,
  callbackFailureMessage,
  NOT_CONSENTED,
} from '../../shared/consent/consent-service.js';
import { AADSTS_MESSAGES } from '../../shared/m365/aadsts.js';

describe("the consent callback's message", () => {
  it("never shows the caller's error_description: a crafted link gets fixed text", () => {
    const phishing =
      'Your tenant is locked. Call Microsoft Support on +1 555 0100 or visit https://evil.example/unlock';
    for (const error of ['server_error', 'invalid_request', '<script>alert(1)</script>']) {
      const message = callbackFailureMessage(error, phishing);
      expect(message).toBe(CALLBACK_FAILED);
      expect(message).not.toContain('555');
      expect(message).not.toContain('evil');
    }
    expect(callbackFailureMessage('server_error', null)).toBe(CALLBACK_FAILED);
  });

  it("takes only a known AADSTS code from Microsoft's description, to pick the product's own words", () => {
    expect(
      callbackFailureMessage('invalid_request', 'AADSTS90002: Tenant not found. Call +1 555 0100.'),
    ).toBe(AADSTS_MESSAGES.AADSTS90002);
    expect(callbackFailureMessage('invalid_request', 'AADSTS12345: call +1 555 0100')).toBe(CALLBACK_FAILED);
    expect(callbackFailureMessage('access_denied', 'anything at all')).toBe(NOT_CONSENTED);
  });
});
