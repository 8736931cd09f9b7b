import { z } from 'zod';

/** Control characters (C0, DEL, C1) and UTF-16 halves without their other half. */
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;
/** The same, but tabs and line breaks are allowed (text of several lines). */
const UNPRINTABLE_MULTILINE = /[^\P{Cc}\t\n\r]|\p{Cs}/u;

/** Whether a string is text a person could have typed: no control characters, no broken Unicode. */
export function isPrintableText(s: string): boolean {
  return !UNPRINTABLE.test(s);
}

/**
 * Characters that show as nothing: format characters (zero-width spaces and joiners, soft
 * hyphens, tags, bidirectional controls, which can make a name read backwards), the other
 * default-ignorable ones (Hangul fillers, variation selectors) and the blank braille pattern.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]/gu;

/**
 * Removes what `isPrintableText` refuses, and invisible characters, from text that arrives signed
 * and is shown to others (a token's display name).
 */
export function printableOnly(s: string): string {
  // A combining mark left leading (its base removed) shows as nothing, or on the mask.
  return s
    .replace(new RegExp(UNPRINTABLE.source, 'gu'), '')
    .replace(INVISIBLE, '')
    .replace(/^\s*\p{M}+/u, '');
}

/** A free-text field: trimmed, 1 to `max` characters, printable, one line unless `multiline` (400 otherwise). */
export function textSchema(max: number, opts: { multiline?: boolean } = {}) {
  const bad = opts.multiline ? UNPRINTABLE_MULTILINE : UNPRINTABLE;
  return z
    .string()
    .min(1)
    .regex(/\S/, 'must not be blank')
    .trim()
    .max(max)
    .refine((s) => !bad.test(s), 'must not contain control characters or broken Unicode');
}

/**
 * A user id, as a token's `sub` and the shop's webhooks carry it: 1 to 128 characters, not blank,
 * no control characters (any language, spaces inside allowed). The same rule on both sides, so a
 * user a token names can be named by the shop.
 */
export const userIdSchema = z
  .string()
  .regex(/\S/, 'must not be blank')
  .max(128)
  .refine(isPrintableText, 'must not contain control characters or broken Unicode');
