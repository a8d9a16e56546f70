import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formContent, initialValues, parseForm } from '../../src/mcp/elicitationForm';

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', title: 'Your name', minLength: 2, maxLength: 10 },
    email: { type: 'string', format: 'email' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    ratio: { type: 'number', default: 0.5 },
    subscribe: { type: 'boolean', default: true, description: 'Weekly mail' },
    color: { type: 'string', enum: ['r', 'g'], enumNames: ['Red', 'Green'] },
    size: { type: 'string', oneOf: [{ const: 's', title: 'Small' }, { const: 'l', title: 'Large' }], default: 'l' },
    tags: { type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, maxItems: 2 },
  },
  required: ['name', 'age', 'color'],
};

describe('parseForm', () => {
  it('makes one field per property, of the kind its schema says, with titles, defaults and limits', () => {
    const { fields, problems } = parseForm(SCHEMA);
    assert.deepEqual(problems, []);
    assert.deepEqual(fields.map((f) => [f.name, f.kind, f.required]), [
      ['name', 'text', true],
      ['email', 'text', false],
      ['age', 'number', true],
      ['ratio', 'number', false],
      ['subscribe', 'boolean', false],
      ['color', 'choice', true],
      ['size', 'choice', false],
      ['tags', 'multiChoice', false],
    ]);
    assert.equal(fields[0]!.label, 'Your name');
    assert.equal(fields[1]!.label, 'email', 'no title: the property name');
    const color = fields[5]!;
    assert.ok(color.kind === 'choice');
    assert.deepEqual(color.options, [{ value: 'r', label: 'Red' }, { value: 'g', label: 'Green' }]);
    const size = fields[6]!;
    assert.ok(size.kind === 'choice');
    assert.deepEqual(size.options.map((o) => o.label), ['Small', 'Large']);
    assert.deepEqual(initialValues(fields), { name: '', email: '', age: '', ratio: '0.5', subscribe: true, color: '', size: 'l', tags: [] });
  });

  it('names what it cannot show instead of dropping it silently', () => {
    const { fields, problems } = parseForm({ type: 'object', properties: { ok: { type: 'string' }, nested: { type: 'object' }, list: { type: 'array', items: { type: 'number' } } } });
    assert.deepEqual(fields.map((f) => f.name), ['ok']);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^nested: type "object"/);
    assert.match(problems[1]!, /^list:/);
    assert.deepEqual(parseForm(null).problems, ['the requested schema is not an object of fields']);
    assert.deepEqual(parseForm({ type: 'array' }).fields, []);
  });
});

describe('formContent', () => {
  const { fields } = parseForm(SCHEMA);

  it('converts the typed text to the schema types and leaves out empty optional fields', () => {
    const values = { ...initialValues(fields), name: 'Ada', age: ' 36 ', color: 'g', tags: ['c', 'a'] };
    assert.deepEqual(formContent(fields, values), { content: { name: 'Ada', age: 36, ratio: 0.5, subscribe: true, color: 'g', size: 'l', tags: ['c', 'a'] } });
  });

  it('says per field what is wrong, and builds no content then', () => {
    const values = { ...initialValues(fields), name: 'A', email: 'not-mail', age: '3.5', color: 'x', tags: ['a', 'b', 'c'], ratio: 'abc' };
    const result = formContent(fields, values);
    assert.ok('errors' in result);
    assert.deepEqual(result.errors, {
      name: 'Expected at least 2 characters.',
      email: 'Expected an email address.',
      age: 'A whole number.',
      ratio: 'A number.',
      color: 'Pick one of the choices.',
      tags: 'Choose at most 2.',
    });
    const missing = formContent(fields, initialValues(fields));
    assert.ok('errors' in missing);
    assert.deepEqual(Object.keys(missing.errors).sort(), ['age', 'color', 'name']);
    assert.equal(missing.errors.name, 'Required.');
  });

  it('checks number bounds, URLs and dates', () => {
    const form = parseForm({ type: 'object', properties: { n: { type: 'number', minimum: 1, maximum: 2 }, u: { type: 'string', format: 'uri' }, d: { type: 'string', format: 'date' } } }).fields;
    assert.deepEqual(formContent(form, { n: '0', u: 'nope', d: '2025-13-45' }), { errors: { n: 'At least 1.', u: 'Expected a URL such as https://example.com.', d: 'Expected a date as YYYY-MM-DD.' } });
    assert.deepEqual(formContent(form, { n: '3', u: 'https://x.test/a', d: '2025-01-31' }), { errors: { n: 'At most 2.' } });
    assert.deepEqual(formContent(form, { n: '1.5', u: 'https://x.test/a', d: '2025-01-31' }), { content: { n: 1.5, u: 'https://x.test/a', d: '2025-01-31' } });
  });

  it('keeps a string as typed (spaces are the user’s) and a checkbox always answers', () => {
    const form = parseForm({ type: 'object', properties: { s: { type: 'string' }, b: { type: 'boolean' } } }).fields;
    assert.deepEqual(formContent(form, { s: '  two words ', b: false }), { content: { s: '  two words ', b: false } });
  });
});
