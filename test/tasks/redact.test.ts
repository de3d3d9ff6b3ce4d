import { describe, expect, it } from 'vitest';
import { MAX_REDACTED_TEXT_CHARS, REDACTED, redactDeep, redactText } from '../../shared/tasks/redact.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl';

/** Shapes that made the former patterns rescan the rest of the text from every character. */
const ADVERSARIAL: Record<string, string> = {
  letters: 'a'.repeat(80_000),
  dashes: '-'.repeat(80_000),
  'secret names': 'password'.repeat(10_000),
  'JWT starts': '-eyJ'.repeat(20_000),
  'secret-ending words': `${'x'.repeat(10)}secret`.repeat(5_000),
  'unclosed quotes': 'password="'.repeat(8_000),
};

describe('redaction', () => {
  it('blanks bearer tokens, JWTs, secret assignments and known secrets in free text', () => {
    const text =
      `Authorization: Bearer abcdefgh12345678 id_token=${JWT} ` +
      `{"clientSecret": "hunter2!", smtpPassword=swordfish} sent ${Buffer.from('supersecret').toString('base64')} and supersecret`;
    const redacted = redactText(text, ['supersecret']);
    expect(redacted).toBe(
      `Authorization: Bearer ${REDACTED} id_token=${REDACTED} ` +
        `{"clientSecret": ${REDACTED}, smtpPassword=${REDACTED}} sent ${REDACTED} and ${REDACTED}`,
    );
  });

  for (const [shape, text] of Object.entries(ADVERSARIAL)) {
    it(`redacts ${text.length.toLocaleString('en')} characters of ${shape} at once, cut to a bounded length`, () => {
      const started = performance.now();
      const redacted = redactText(`${text} token=${JWT}`, ['hunter22']);
      // Nested in a state bag the text is not cut, so this runs every pattern over the whole input.
      const deep = redactDeep({ note: `${text} apiKey: ${JWT}` }, ['hunter22']) as { note: string };
      const elapsed = performance.now() - started;

      expect(redacted.length).toBeLessThan(MAX_REDACTED_TEXT_CHARS + 100);
      expect(redacted).toMatch(/… \[\d+ more characters cut\]$/);
      expect(deep.note.endsWith(`apiKey: ${REDACTED}`)).toBe(true);
      // The former patterns took seconds on these inputs (8.7 s for 80,000 characters); linear ones take milliseconds.
      expect(elapsed).toBeLessThan(1_000);
    });
  }

  it('does not leave a known secret half-shown where the text is cut', () => {
    const secret = 'correct-horse-battery-staple';
    const text = `${'.'.repeat(MAX_REDACTED_TEXT_CHARS - 10)}${secret} and more`;
    const redacted = redactText(text, [secret]);
    expect(redacted).not.toContain(secret.slice(0, 10));
    expect(redacted).toContain('more characters cut');
  });
});
