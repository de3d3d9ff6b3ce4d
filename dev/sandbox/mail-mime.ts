/**
 * Just enough MIME to read what nodemailer and common clients send: headers (folded, RFC 2047 encoded words),
 * nested multiparts, and text/plain and text/html parts in 7bit, 8bit, quoted-printable or base64.
 * Attachments are skipped. Not a general parser; the sandbox has no mail parsing dependency.
 */
export interface ParsedMail {
  /** Lower-case names; a repeated header keeps its first value. */
  readonly headers: ReadonlyMap<string, string>;
  readonly subject: string;
  readonly messageId: string | null;
  /** Line breaks as `\n`. */
  readonly text: string | null;
  readonly html: string | null;
}

interface Part {
  readonly headers: Map<string, string>;
  /** The body's bytes as a latin1 string, so that splitting never breaks a multi-byte character. */
  readonly body: string;
}

export function parseMail(raw: Buffer): ParsedMail {
  const root = splitPart(raw.toString('latin1'));
  const found: { text: string | null; html: string | null } = { text: null, html: null };
  collectText(root, found, 0);
  return {
    headers: root.headers,
    subject: decodeWords(root.headers.get('subject') ?? ''),
    messageId: root.headers.get('message-id')?.trim() ?? null,
    ...found,
  };
}

function splitPart(source: string): Part {
  const match = /\r?\n\r?\n/.exec(source);
  const head = match ? source.slice(0, match.index) : source;
  const body = match ? source.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  // Unfold: a line starting with white space continues the previous header.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** Nesting is bounded: a sandbox must not recurse without limit on a hostile message. */
const MAX_DEPTH = 8;

function collectText(part: Part, found: { text: string | null; html: string | null }, depth: number): void {
  const type = contentType(part.headers.get('content-type'));
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (type.mediaType.startsWith('multipart/')) {
    const boundary = type.params.get('boundary');
    if (!boundary || depth >= MAX_DEPTH) return;
    for (const child of splitMultipart(part.body, boundary)) collectText(splitPart(child), found, depth + 1);
    return;
  }
  if (disposition.startsWith('attachment')) return;
  const key = type.mediaType === 'text/plain' ? 'text' : type.mediaType === 'text/html' ? 'html' : undefined;
  if (!key || found[key] !== null) return;
  const bytes = decodeTransfer(part.body, part.headers.get('content-transfer-encoding'));
  // SMTP carries CRLF line breaks; give them back as the sender most likely wrote them.
  found[key] = decodeCharset(bytes, type.params.get('charset')).replace(/\r\n/g, '\n');
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  const lines = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join('\r\n'));
      if (trimmed !== delimiter) return parts;
      current = [];
    } else {
      current?.push(line);
    }
  }
  if (current) parts.push(current.join('\r\n'));
  return parts;
}

function contentType(value: string | undefined): { mediaType: string; params: Map<string, string> } {
  const [mediaType = 'text/plain', ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    params.set(
      name,
      param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  return { mediaType: mediaType.trim().toLowerCase(), params };
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '7bit').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      // 7bit/8bit/binary: the bytes as they came, minus the line break before the next boundary.
      return Buffer.from(body.replace(/\r?\n$/, ''), 'latin1');
  }
}

function decodeQuotedPrintable(body: string): Buffer {
  // Trailing white space of a line is transport padding (RFC 2045 6.7); `=` at a line end is a soft break.
  const unwrapped = body
    .replace(/[ \t]+(?=\r?\n|$)/g, '')
    .replace(/=\r?\n/g, '')
    .replace(/\r?\n$/, '');
  const bytes: number[] = [];
  for (let i = 0; i < unwrapped.length; i++) {
    const char = unwrapped[i] ?? '';
    const hex = unwrapped.slice(i + 1, i + 3);
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(char.charCodeAt(0) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** RFC 2047 `=?charset?B|Q?text?=`; white space between two encoded words is not part of the text. */
function decodeWords(value: string): string {
  const bytesAsText = Buffer.from(value, 'latin1').toString('utf8');
  return bytesAsText
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?[^?]+\?[BbQq]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, charset: string, kind: string, text: string) => {
      const bytes =
        kind.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : decodeQuotedPrintable(text.replace(/_/g, ' '));
      return decodeCharset(bytes, charset);
    });
}
