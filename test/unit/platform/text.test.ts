import { describe, expect, it } from 'vitest';
import { maskName } from '#shared/domain/mask';
import { isPrintableText, printableOnly, textSchema } from '#shared/domain/text';

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
    expect(title.safeParse('   ').success).toBe(false);
    expect(title.safeParse('123456').success).toBe(false);
    expect(title.safeParse('a\u0000').success).toBe(false);
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
    expect(maskName('\u0000\u0001')).toBeUndefined();
    expect(maskName('张三')).toBe('张*');
    expect(maskName('张')).toBe('*');
  });
});
