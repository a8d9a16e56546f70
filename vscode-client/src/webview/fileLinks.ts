/** File names in replies become links once the host has said they are workspace files: the
 * markdown marks candidates (`.file-ref` with `data-path`), this asks the host about the new ones
 * and turns those that exist into links that open the file (at `data-line` when given). */
import type { WebviewMessage } from '../chat/messages';

export class FileLinks {
  /** Reference -> absolute path, or null when it is not a workspace file; absent: not asked yet. */
  private readonly known = new Map<string, string | null>();
  private readonly asked = new Set<string>();

  constructor(
    private readonly root: HTMLElement,
    private readonly post: (message: WebviewMessage) => void,
  ) {
    root.addEventListener('click', (e) => this.open(e));
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') this.open(e);
    });
  }

  /** After a render: links for what is known, one question to the host for the rest. */
  scan(): void {
    const unknown = new Set<string>();
    for (const el of this.root.querySelectorAll<HTMLElement>('.file-ref')) {
      const ref = el.dataset.path!;
      if (this.known.has(ref)) this.decorate(el);
      else if (!this.asked.has(ref)) unknown.add(ref);
    }
    if (unknown.size === 0) return;
    for (const ref of unknown) this.asked.add(ref);
    this.post({ type: 'resolveFileRefs', refs: [...unknown] });
  }

  resolved(answers: Record<string, string | null>): void {
    for (const [ref, path] of Object.entries(answers)) this.known.set(ref, path);
    this.scan();
  }

  private decorate(el: HTMLElement): void {
    const path = this.known.get(el.dataset.path!);
    if (!path || el.classList.contains('file-link')) return;
    el.classList.add('file-link');
    el.setAttribute('role', 'link');
    el.tabIndex = 0;
    el.title = `Open ${path}${el.dataset.line ? ` at line ${el.dataset.line}` : ''}`;
  }

  private open(e: Event): void {
    const el = (e.target as HTMLElement).closest<HTMLElement>('.file-link');
    const path = el && this.known.get(el.dataset.path!);
    if (!el || !path) return;
    e.preventDefault();
    const line = el.dataset.line ? Number(el.dataset.line) - 1 : undefined;
    this.post({ type: 'openFile', path, line });
  }
}
