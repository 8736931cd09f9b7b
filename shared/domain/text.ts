import { z } from 'zod';

/** Control characters (C0, DEL, C1) and UTF-16 halves without their other half. */
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;

/** Whether a string is text a person could have typed: no control characters, no broken Unicode. */
export function isPrintableText(s: string): boolean {
  return !UNPRINTABLE.test(s);
}

/** Removes what `isPrintableText` refuses (for text that arrives signed, such as a token's display name). */
export function printableOnly(s: string): string {
  return s.replace(new RegExp(UNPRINTABLE.source, 'gu'), '');
}

/** A free-text field: trimmed, 1 to `max` characters, printable (400 otherwise). */
export function textSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(isPrintableText, 'must not contain control characters or broken Unicode');
}
