/** Markdown for agent messages: markdown-it with raw HTML disabled, then DOMPurify, so nothing a
 * model writes can run script or load remote content in the panel. */
import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, breaks: false });

// Only web and mail links: file: or command: URIs from a model must not be one click away.
md.validateLink = (url: string): boolean => /^(https?:|mailto:)/i.test(url.trim());

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), { USE_PROFILES: { html: true }, FORBID_TAGS: ['img', 'style', 'form', 'input'] });
}
