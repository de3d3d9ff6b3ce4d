/**
 * The API's enum values are lowercase kebab-case (one casing rule for clients); the manual names the same values with
 * display strings. Each enum keeps one table of those labels, and its OpenAPI description lists value — label, so a
 * portal can show what the manual shows.
 */
export function labelledValues(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([value, label]) => `\`${value}\` — ${label}`);
  return `Values and the manual's labels: ${pairs.join('; ')}.`;
}
