import { strict as assert } from 'node:assert';
import {
  displayName,
  hasHiddenCharacters,
  markdownName,
  markdownText,
  messageText,
  NAME_MAX,
  shortenName,
  visibleName,
} from '../../../runtime/view/displayName';

describe('displayName', () => {
  it('makes bidi overrides, isolates and marks visible', () => {
    const evil = 'conv\u202Egnp.exe';
    assert.equal(visibleName(evil), 'conv\\u202Egnp.exe');
    for (const c of [
      0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f,
    ]) {
      const s = `a${String.fromCharCode(c)}b`;
      const hex = c.toString(16).toUpperCase();
      assert.equal(visibleName(s), `a\\u${hex}b`, `U+${hex}`);
      assert.ok(hasHiddenCharacters(s));
    }
  });

  it('makes control, zero-width and line-separator characters visible', () => {
    assert.equal(visibleName('a\nb\tc\u0000d\u007fe'), 'a\\u000Ab\\u0009c\\u0000d\\u007Fe');
    assert.equal(visibleName('x\u200By\u2028z\uFEFF'), 'x\\u200By\\u2028z\\uFEFF');
    assert.equal(visibleName('lone \uD800 high'), 'lone \\uD800 high');
    assert.equal(visibleName('lone \uDC00 low'), 'lone \\uDC00 low');
  });

  it('leaves ordinary names alone, markup and non-Latin scripts included', () => {
    for (const s of ['/layer1/conv1/Conv', '<img src=x onerror=alert(1)>', 'слой_1', '層🙂', 'مرحبا']) {
      assert.equal(visibleName(s), s);
      assert.equal(hasHiddenCharacters(s), false);
    }
  });

  it('shortens long names in the middle to the stated length', () => {
    const long = 'a'.repeat(50_000) + 'MIDDLE' + 'z'.repeat(50_000);
    const short = shortenName(long);
    assert.equal(short.length, NAME_MAX);
    assert.ok(short.startsWith('aaaa') && short.endsWith('zzzz'));
    assert.equal(short.split('…').length, 2);
    assert.equal(shortenName('short'), 'short');
    assert.equal(shortenName('abcdefghij', 5), 'ab…ij');
  });

  it('never cuts a surrogate pair or an escape in two', () => {
    const emoji = '🙂'.repeat(100);
    const s = shortenName(emoji, 11);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s), s);
    const escaped = displayName('\u202E'.repeat(40), 20);
    assert.match(escaped, /^(\\u202E)*…(\\u202E)*$/);
    assert.ok(escaped.length <= 20);
  });

  it('escapes every Markdown construct a name could start', () => {
    const cases = [
      '[x](command:workbench.action.quit)',
      '**bold**',
      '<img src=x onerror=alert(1)>',
      '`code`',
      '# heading',
      'a | b',
      '![i](https://example.com/x.png)',
      '~~strike~~',
      '&lt;entity&gt;',
    ];
    for (const c of cases) {
      const md = markdownText(c);
      // Every punctuation character is escaped, so none starts a construct.
      assert.ok(!/(^|[^\\])[[\]()*<>`#|!~&]/.test(md.replace(/\\\\/g, '')), `${c} → ${md}`);
      assert.equal(md.replace(/\\(.)/g, '$1'), c, 'unescaping gives the name back');
    }
    assert.equal(markdownText('a\nb'), 'a\\\\u000Ab', 'a newline cannot end a table row');
    assert.equal(markdownName('x'.repeat(1000)).replace(/\\(.)/g, '$1').length, NAME_MAX);
  });

  it('keeps notification links from forming', () => {
    const m = messageText('Node [x](command:workbench.action.quit) has no input.');
    assert.ok(!/\]\(/.test(m));
    assert.equal(m.replace(/\u2060/g, ''), 'Node [x](command:workbench.action.quit) has no input.');
    assert.ok(messageText('x'.repeat(100_000)).length <= 600);
  });
});
