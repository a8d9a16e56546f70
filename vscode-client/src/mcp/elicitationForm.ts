/** MCP elicitation in form mode: the server's `requestedSchema` (a flat object of primitive
 * fields, as the MCP spec restricts it) turned into form fields, and the user's input checked and
 * converted back into the `content` the server asked for. Pure: the webview draws the fields,
 * the host answers the request; both use this module, so the two cannot disagree. */

export interface EnumOption {
  value: string;
  label: string;
}

interface FieldBase {
  name: string;
  label: string;
  description?: string;
  required: boolean;
}

export type FormField =
  | (FieldBase & { kind: 'text'; format?: 'email' | 'uri' | 'date' | 'date-time'; minLength?: number; maxLength?: number; default?: string })
  | (FieldBase & { kind: 'number'; integer: boolean; minimum?: number; maximum?: number; default?: number })
  | (FieldBase & { kind: 'boolean'; default?: boolean })
  | (FieldBase & { kind: 'choice'; options: EnumOption[]; default?: string })
  | (FieldBase & { kind: 'multiChoice'; options: EnumOption[]; minItems?: number; maxItems?: number; default?: string[] });

/** What the form holds for a field: text boxes give strings, a checkbox a boolean, a multi-select
 * the chosen values. */
export type FieldValue = string | boolean | string[];
export type FormValues = Record<string, FieldValue>;
export type FormContent = Record<string, string | number | boolean | string[]>;

export interface ParsedForm {
  fields: FormField[];
  /** Schema parts the form cannot show; when not empty the user can only decline or cancel. */
  problems: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const FORMATS = new Set(['email', 'uri', 'date', 'date-time']);

/** `enum` (+ the legacy `enumNames`) or `oneOf`/`anyOf` of `{const, title}`. */
function enumOptions(schema: Json): EnumOption[] | undefined {
  if (Array.isArray(schema.enum)) {
    const names = Array.isArray(schema.enumNames) ? schema.enumNames : [];
    return schema.enum.filter((v): v is string => typeof v === 'string').map((value, i) => ({ value, label: str(names[i]) ?? value }));
  }
  const titled = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined;
  if (!titled) return undefined;
  return titled.filter(isObject).flatMap((o) => (typeof o.const === 'string' ? [{ value: o.const, label: str(o.title) ?? o.const }] : []));
}

function parseField(name: string, schema: unknown, required: boolean): FormField | string {
  if (!isObject(schema)) return `${name}: no schema`;
  const base: FieldBase = { name, label: str(schema.title) ?? name, description: str(schema.description), required };
  const type = schema.type;
  if (type === 'string') {
    const options = enumOptions(schema);
    if (options) return options.length ? { ...base, kind: 'choice', options, default: str(schema.default) } : `${name}: an empty list of choices`;
    const format = str(schema.format);
    return {
      ...base,
      kind: 'text',
      format: format && FORMATS.has(format) ? (format as 'email' | 'uri' | 'date' | 'date-time') : undefined,
      minLength: num(schema.minLength),
      maxLength: num(schema.maxLength),
      default: str(schema.default),
    };
  }
  if (type === 'number' || type === 'integer') {
    return { ...base, kind: 'number', integer: type === 'integer', minimum: num(schema.minimum), maximum: num(schema.maximum), default: num(schema.default) };
  }
  if (type === 'boolean') return { ...base, kind: 'boolean', default: typeof schema.default === 'boolean' ? schema.default : undefined };
  if (type === 'array' && isObject(schema.items)) {
    const options = enumOptions(schema.items);
    if (!options?.length) return `${name}: a list whose items are not a list of choices`;
    const defaults = Array.isArray(schema.default) ? schema.default.filter((v): v is string => typeof v === 'string') : undefined;
    return { ...base, kind: 'multiChoice', options, minItems: num(schema.minItems), maxItems: num(schema.maxItems), default: defaults };
  }
  return `${name}: type ${JSON.stringify(type)} is not a form field (MCP allows string, number, integer, boolean and lists of choices)`;
}

export function parseForm(requestedSchema: unknown): ParsedForm {
  if (!isObject(requestedSchema) || (requestedSchema.type !== undefined && requestedSchema.type !== 'object')) {
    return { fields: [], problems: ['the requested schema is not an object of fields'] };
  }
  const properties = isObject(requestedSchema.properties) ? requestedSchema.properties : {};
  const required = new Set(Array.isArray(requestedSchema.required) ? requestedSchema.required.filter((r): r is string => typeof r === 'string') : []);
  const fields: FormField[] = [];
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(properties)) {
    const field = parseField(name, schema, required.has(name));
    if (typeof field === 'string') problems.push(field);
    else fields.push(field);
  }
  return { fields, problems };
}

/** The value a field starts with: the schema's default, else empty (a checkbox: unchecked). */
export function initialValues(fields: readonly FormField[]): FormValues {
  const values: FormValues = {};
  for (const f of fields) {
    if (f.kind === 'boolean') values[f.name] = f.default ?? false;
    else if (f.kind === 'multiChoice') values[f.name] = f.default ?? [];
    else if (f.kind === 'number') values[f.name] = f.default !== undefined ? String(f.default) : '';
    else values[f.name] = f.default ?? '';
  }
  return values;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function textProblem(f: Extract<FormField, { kind: 'text' }>, text: string): string | undefined {
  if (f.minLength !== undefined && text.length < f.minLength) return `at least ${f.minLength} characters`;
  if (f.maxLength !== undefined && text.length > f.maxLength) return `at most ${f.maxLength} characters`;
  if (f.format === 'email' && !EMAIL.test(text)) return 'an email address';
  if (f.format === 'uri' && !URL.canParse(text)) return 'a URL such as https://example.com';
  if (f.format === 'date' && !(DATE.test(text) && !Number.isNaN(Date.parse(text)))) return 'a date as YYYY-MM-DD';
  if (f.format === 'date-time' && Number.isNaN(Date.parse(text))) return 'a date and time such as 2025-01-31T12:00:00Z';
  return undefined;
}

/** Checks the form and builds the answer's `content`; empty optional fields are left out, as the
 * server's schema allows. Errors are by field name, in words for the form to show. */
export function formContent(fields: readonly FormField[], values: FormValues): { content: FormContent } | { errors: Record<string, string> } {
  const content: FormContent = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const value = values[f.name];
    if (f.kind === 'boolean') {
      content[f.name] = value === true;
      continue;
    }
    if (f.kind === 'multiChoice') {
      const chosen = Array.isArray(value) ? value.filter((v) => f.options.some((o) => o.value === v)) : [];
      if (chosen.length === 0 && !f.required && f.minItems === undefined) continue;
      if (f.minItems !== undefined && chosen.length < f.minItems) errors[f.name] = `Choose at least ${f.minItems}.`;
      else if (f.maxItems !== undefined && chosen.length > f.maxItems) errors[f.name] = `Choose at most ${f.maxItems}.`;
      else if (chosen.length === 0) errors[f.name] = 'Choose at least one.';
      else content[f.name] = chosen;
      continue;
    }
    const text = typeof value === 'string' ? (f.kind === 'number' ? value.trim() : value) : '';
    if (text === '') {
      if (f.required) errors[f.name] = 'Required.';
      continue;
    }
    if (f.kind === 'choice') {
      if (f.options.some((o) => o.value === text)) content[f.name] = text;
      else errors[f.name] = 'Pick one of the choices.';
    } else if (f.kind === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[f.name] = f.integer ? 'A whole number.' : 'A number.';
      else if (f.integer && !Number.isInteger(n)) errors[f.name] = 'A whole number.';
      else if (f.minimum !== undefined && n < f.minimum) errors[f.name] = `At least ${f.minimum}.`;
      else if (f.maximum !== undefined && n > f.maximum) errors[f.name] = `At most ${f.maximum}.`;
      else content[f.name] = n;
    } else {
      const problem = textProblem(f, text);
      if (problem) errors[f.name] = `Expected ${problem}.`;
      else content[f.name] = text;
    }
  }
  return Object.keys(errors).length ? { errors } : { content };
}
