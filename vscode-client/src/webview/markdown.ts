/** Markdown for agent messages: markdown-it with raw HTML disabled, then DOMPurify, so nothing a
 * model writes can run script or load remote content in the panel. Web links need their scheme
 * (a bare `calc.py` is a file name, not a domain); names that look like files are marked with
 * `data-path` (and `data-line` for `path:line`) so the panel can make the ones that exist in the
 * workspace open in the editor. */
import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { highlight } from './highlight';

const md = new MarkdownIt({ html: false, linkify: true, breaks: false });
md.linkify.set({ fuzzyLink: false });

// Only web and mail links: file: or command: URIs from a model must not be one click away.
md.validateLink = (url: string): boolean => /^(https?:|mailto:)/i.test(url.trim());

/** A relative or absolute path with an extension, optionally followed by :line or :line:column. */
const FILE_REF = /(?<![\w/.@:-])((?:\.{1,2}\/|\/)?(?:[\w.-]+\/)*[\w-][\w.-]*\.[A-Za-z]\w{0,9})(?::(\d+)(?::\d+)?)?(?![\w/-])/g;
const WHOLE_FILE_REF = new RegExp(`^${FILE_REF.source}$`);

export interface FileRef {
  path: string;
  /** 1-based, as people write it. */
  line?: number;
}

export function parseFileRef(text: string): FileRef | undefined {
  const match = WHOLE_FILE_REF.exec(text.trim());
  return match ? { path: match[1]!, line: match[2] ? Number(match[2]) : undefined } : undefined;
}

function refAttrs(ref: FileRef): [string, string][] {
  const attrs: [string, string][] = [['class', 'file-ref'], ['data-path', ref.path]];
  if (ref.line) attrs.push(['data-line', String(ref.line)]);
  return attrs;
}

/** Splits a text token around the file names in it (each becomes a marked span). */
function splitText(token: Token, make: (type: string) => Token): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const match of token.content.matchAll(FILE_REF)) {
    if (match.index > last) out.push(Object.assign(make('text'), { content: token.content.slice(last, match.index) }));
    const span = make('html_inline');
    const ref = { path: match[1]!, line: match[2] ? Number(match[2]) : undefined };
    const attrs = refAttrs(ref).map(([k, v]) => ` ${k}="${md.utils.escapeHtml(v)}"`).join('');
    span.content = `<span${attrs}>${md.utils.escapeHtml(match[0])}</span>`;
    out.push(span);
    last = match.index + match[0].length;
  }
  if (last === 0) return [token];
  if (last < token.content.length) out.push(Object.assign(make('text'), { content: token.content.slice(last) }));
  return out;
}

md.core.ruler.push('file_refs', (state) => {
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    let inLink = 0;
    block.children = block.children.flatMap((token) => {
      if (token.type === 'link_open') inLink++;
      if (token.type === 'link_close') inLink--;
      if (inLink > 0) return [token];
      if (token.type === 'code_inline') {
        const ref = parseFileRef(token.content);
        if (ref) for (const [name, value] of refAttrs(ref)) token.attrSet(name, value);
        return [token];
      }
      return token.type === 'text' ? splitText(token, (type) => new state.Token(type, '', 0)) : [token];
    });
  }
});

/** A fence's info string: its language and the file it is for, from `python path=calc.py`,
 * `python title="calc.py"`, `python:calc.py` or a bare `calc.py`. */
export function parseInfo(info: string): { language: string; path?: string } {
  const words = info.trim().split(/\s+/).filter(Boolean);
  let language = words[0] ?? '';
  let path = words.slice(1).map((w) => /^(?:path|file|filename|title)=["']?([^"']+)["']?$/.exec(w)?.[1]).find(Boolean);
  const colon = /^([\w+#-]+):(.+)$/.exec(language);
  if (colon) [language, path] = [colon[1]!, path ?? colon[2]];
  else if (!path && parseFileRef(language)) [language, path] = [language.slice(language.lastIndexOf('.') + 1), language];
  return { language: language.toLowerCase(), path };
}

// A code block: its text highlighted, the language and target file kept for the panel's
// Copy / Insert / Apply buttons (added to the DOM by items.ts, after sanitizing).
md.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx]!;
  const { language, path } = parseInfo(token.info);
  const html = highlight(token.content, language) ?? md.utils.escapeHtml(token.content);
  const attrs = [`class="code-block"`, language && `data-lang="${md.utils.escapeHtml(language)}"`, path && `data-path="${md.utils.escapeHtml(path)}"`].filter(Boolean).join(' ');
  return `<div ${attrs}><pre><code class="hljs${language ? ` language-${md.utils.escapeHtml(language)}` : ''}">${html}</code></pre></div>\n`;
};

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), { USE_PROFILES: { html: true }, FORBID_TAGS: ['img', 'style', 'form', 'input'] });
}
