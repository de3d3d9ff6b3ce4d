import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The CA list for a TLS client that takes a `ca` option (nodemailer, raw `tls.connect`): the public roots plus the
 * TRUSTED_CA_CERT_FILE's CA, as `createTrustedTransport` trusts them. `undefined` when no file is configured, so
 * the client keeps Node's defaults. Node's `ca` replaces the roots rather than adding to them, hence both.
 */
export function trustedCaCertificates(trustedCaCertFile: string | undefined): string[] | undefined {
  return trustedCaCertFile ? [...rootCertificates, readFileSync(trustedCaCertFile, 'utf8')] : undefined;
}
