/**
 * Text a user typed, as part of a PartitionKey or RowKey: Table storage refuses `/`, `\`, `#`, `?` and control
 * characters in keys, so those are written `%XX`. A `%` is escaped only where it would read as an escape (followed by
 * two hex digits): keys written before this encoding stay what they were, and two texts never share a key.
 */
export function tableKeyText(text: string): string {
  let key = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const unit = char.charCodeAt(0);
    const escaped = char === '%' ? /^[0-9A-Fa-f]{2}/.test(text.slice(i + 1, i + 3)) : forbiddenInKey(unit);
    key += escaped ? `%${unit.toString(16).toUpperCase().padStart(2, '0')}` : char;
  }
  return key;
}

function forbiddenInKey(unit: number): boolean {
  return (
    unit === 0x2f ||
    unit === 0x5c ||
    unit === 0x23 ||
    unit === 0x3f ||
    unit < 0x20 ||
    (unit >= 0x7f && unit <= 0x9f)
  );
}
