import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { maskName } from '#shared/domain/mask';
import { isPrintableText, printableOnly, textSchema, userIdSchema } from '#shared/domain/text';

describe('Module: text', () => {
  it('takes what people type, CJK and emoji included', () => {
    for (const s of ['双十一 大促', 'Moments 朋友圈', '🎉 sale', 'a\u00a0b']) expect(isPrintableText(s)).toBe(true);
  });

  it('refuses control characters and halves of surrogate pairs', () => {
    for (const s of ['a\u0000b', 'tab\there', 'line\nbreak', 'del\u007f', 'c1\u0085', 'a\ud800b', '\udc00', 'x\ud83c'])
      expect([s, isPrintableText(s)]).toEqual([s, false]);
    expect(printableOnly('\u0000ab\ud800c\u001f')).toBe('abc');
    expect(printableOnly('🎉ok')).toBe('🎉ok');
  });

  it('trims and bounds a free-text field', () => {
    const title = textSchema(5);
    expect(title.parse('  标题  ')).toBe('标题');
    const blank = title.safeParse('   ');
    expect(blank.error?.issues.map((i) => i.message)).toEqual(['must not be blank']);
    // The spec says so too: a pattern that a blank string does not match.
    expect(z.toJSONSchema(title, { io: 'input' })).toMatchObject({ type: 'string', pattern: '\\S' });
    expect(title.safeParse('123456').success).toBe(false);
    expect(title.safeParse('a\u0000').success).toBe(false);
  });

  it('takes a user id in any language, never a blank one', () => {
    expect(userIdSchema.parse('用户 42')).toBe('用户 42');
    for (const s of ['', ' ', '\t']) expect([s, userIdSchema.safeParse(s).success]).toEqual([s, false]);
    expect(z.toJSONSchema(userIdSchema, { io: 'input' })).toMatchObject({ pattern: '\\S', maxLength: 128 });
  });

  it('takes tabs and line breaks in a multi-line field, and nothing else unprintable', () => {
    const reason = textSchema(100, { multiline: true });
    expect(reason.parse('Bank said:\r\n\tAccount closed')).toBe('Bank said:\r\n\tAccount closed');
    for (const s of ['a\u0000b', 'a\u0085b', 'a\ud800b']) expect(reason.safeParse(s).success).toBe(false);
    expect(textSchema(100).safeParse('two\nlines').success).toBe(false);
  });

  it('masks a signed display name without its unprintable characters', () => {
    expect(maskName('\u0000abc')).toBe('a**');
    expect(maskName('\u202Eevil\u2066')).toBe('e***');
    // Invisible characters neither lead the mask nor count as characters.
    expect(maskName('\u200bAlice')).toBe('A****');
    expect(maskName('\u00adB\u2060o\u180eb')).toBe('B**');
    expect(maskName('\u{E0041}\u{E0042}Zoe')).toBe('Z**');
    expect(maskName('\u200b\ufeff')).toBeUndefined();
    for (const blank of ['\u3164', '\u115f', '\uffa0', '\u2800', '\u034f', '\ufe0f', '\u0301'])
      expect([blank, maskName(`${blank}Bob`)]).toEqual([blank, 'B**']);
    expect(maskName('\u0000\u0001')).toBeUndefined();
    expect(maskName('张三')).toBe('张*');
    expect(maskName('张')).toBe('*');
  });
});
