import { describe, expect, it } from 'vitest';
import { duplicateJsonKey } from '#lib/http/strict-json.ts';
import { normalizeScope } from '#lib/oauth/scope.ts';

describe('duplicateJsonKey', () => {
  it('finds a name repeated in the same object, however it is escaped', () => {
    // Act + Assess
    expect(duplicateJsonKey('{"a":1,"b":2,"a":3}')).toBe('a');
    expect(duplicateJsonKey('{"sub":1,"\\u0073ub":2}')).toBe('sub');
    expect(duplicateJsonKey('{"x":{"a":1,"a":2}}')).toBe('a');
    expect(duplicateJsonKey('[{"a":1},{"b":[{"c":1,"c":2}]}]')).toBe('c');
  });

  it('accepts equal names in different objects, and names quoted inside values', () => {
    // Act + Assess
    expect(duplicateJsonKey('{"a":{"a":1},"b":[{"a":2},{"a":3}]}')).toBeUndefined();
    expect(duplicateJsonKey('{"a":"\\"a\\":","b":"a","c":["a","a"]}')).toBeUndefined();
    expect(duplicateJsonKey('"just a string"')).toBeUndefined();
  });
});

describe('normalizeScope', () => {
  it('keeps single spaces, drops repeats, keeps the order', () => {
    // Act + Assess
    expect(normalizeScope('  b   a b ')).toBe('b a');
    expect(normalizeScope('   ')).toBe('');
  });
});
