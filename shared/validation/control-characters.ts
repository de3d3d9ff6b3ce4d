/**
 * Characters that end or split a line for some reader of a rendered script: C0 controls and DEL, the C1 controls
 * (U+0080–U+009F, among them U+0085 NEL, a line break to Unicode-aware readers such as PowerShell), and U+2028 /
 * U+2029. One line of a script is one command, so a value holding any of them could smuggle in another.
 */
const LINE_BREAKING = /[\p{Cc}\u2028\u2029]/u;

export function hasControlCharacter(value: string): boolean {
  return LINE_BREAKING.test(value);
}

export const CONTROL_CHARACTERS_TEXT = 'a newline or another control character (C0, C1, U+2028, U+2029)';
