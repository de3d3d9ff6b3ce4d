/**
 * The first object key a JSON text repeats, as the dotted path of the repeated field (`a.b`, `items.0.name`), or
 * `undefined`. JSON.parse keeps the last of duplicate keys silently, so `{"role":"reader","role":"admin"}` would
 * mean whatever the last parser in a chain decides; refusing it keeps every reader of the body agreeing.
 *
 * Call it only on text JSON.parse accepted: the scan then needs no grammar, only strings, brackets and commas. One
 * pass, each character read once (a key's characters twice, to decode its escapes), so it is linear in the body,
 * which the edge already caps at MAX_BODY_BYTES.
 */
export function firstDuplicateKey(text: string): string | undefined {
  interface Frame {
    /** The keys seen so far; `null` for an array. */
    readonly keys: Set<string> | null;
    /** The next string in this object is a key. */
    expectKey: boolean;
    /** The key being read, or the array index, for the path. */
    at: string;
  }
  const stack: Frame[] = [];
  const pathTo = (key: string) => [...stack.slice(0, -1).map((frame) => frame.at), key].join('.');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      while (text.charCodeAt(end) !== 0x22) {
        if (text.charCodeAt(end) === 0x5c /* \ */) {
          escaped = true;
          end += 2;
        } else end += 1;
      }
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        // Only a key with escapes needs decoding: "\u0061" and "a" are the same key.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (top.keys.has(key)) return pathTo(key);
        top.keys.add(key);
        top.expectKey = false;
        top.at = key;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectKey: true, at: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, expectKey: false, at: '0' });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) top.expectKey = true;
      else if (top) top.at = String(Number(top.at) + 1);
    }
  }
  return undefined;
}
