import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The sandbox's own certificate authority, kept in `dataDir` so that a client configured with `ca.pem` keeps
 * trusting the sandbox across restarts.
 */
export function loadOrCreateCa(dataDir: string): KeyPairPem & { readonly certFile: string } {
  mkdirSync(dataDir, { recursive: true });
  const certFile = join(dataDir, 'ca.pem');
  const keyFile = join(dataDir, 'ca-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    return { certFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  }
  const ca = createCertificate({
    commonName: 'Direct Routing Hub Sandbox CA',
    validityDays: 3650,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  writeFileSync(keyFile, ca.keyPem, { mode: 0o600 });
  writeFileSync(certFile, ca.certPem);
  return { certFile, ...ca };
}

/** A short-lived server certificate for the loopback names, signed by the sandbox CA. */
export function issueServerCertificate(ca: KeyPairPem): KeyPairPem {
  return createCertificate({
    commonName: 'localhost',
    validityDays: 30,
    issuer: ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
}

/** A self-signed certificate around a token-signing key, published in the JWKS as `x5c` like Entra ID does. */
export function createSigningCertificate(): KeyPairPem {
  return createCertificate({
    commonName: 'Direct Routing Hub Sandbox token signing',
    validityDays: 3650,
    extensions: [{ name: 'keyUsage', digitalSignature: true, critical: true }],
  });
}

interface CertificateRequest {
  readonly commonName: string;
  readonly validityDays: number;
  /** Omit for a self-signed certificate. */
  readonly issuer?: KeyPairPem;
  readonly extensions: object[];
}

function createCertificate(request: CertificateRequest): KeyPairPem {
  // Node generates RSA keys natively in milliseconds; forge's pure-JS generator takes seconds.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serialNumber();
  // Backdated so that a client whose clock runs slightly behind still accepts a fresh certificate.
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + request.validityDays * DAY_MS);
  const subject = [{ name: 'commonName', value: request.commonName }];
  cert.setSubject(subject);
  const issuerCert = request.issuer ? forge.pki.certificateFromPem(request.issuer.certPem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  cert.setExtensions([
    ...request.extensions,
    { name: 'subjectKeyIdentifier' },
    ...(issuerCert
      ? [
          {
            name: 'authorityKeyIdentifier',
            keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes(),
          },
        ]
      : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(request.issuer?.keyPem ?? privateKey), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

/** A positive 128-bit serial: the leading bit is cleared so DER does not read it as negative. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
