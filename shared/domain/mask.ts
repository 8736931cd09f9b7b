import { printableOnly } from './text.ts';

/**
 * A display name as other users may see it: the first character kept, the rest starred
 * (`张三` → `张*`, `Alice` → `A****`); a one-character name is starred whole (`张` → `*`).
 * Characters are counted as code points, so CJK and emoji are never cut in half.
 */
export function maskName(name: string | undefined | null): string | undefined {
  if (!name) return undefined;
  const chars = Array.from(printableOnly(name).trim());
  if (chars.length === 0) return undefined;
  // A name of one character would be shown whole: nothing of it is kept.
  if (chars.length === 1) return '*';
  return chars[0] + '*'.repeat(Math.min(chars.length - 1, 8));
}
