/** The message box: Enter sends (or steers a running turn), Shift+Enter breaks the line, Escape
 * stops a running turn, "@" opens a keyboard-driven list of workspace files to attach. */
import type { MentionCandidate, WebviewMessage } from '../chat/messages';
import { h, icon } from './dom';

type Post = (message: WebviewMessage) => void;

/** The "@word" right before the caret, if the user is typing a mention. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | undefined {
  const match = /(^|\s)@([^\s@]*)$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2]!.length - 1, query: match[2]! } : undefined;
}

export class Composer {
  readonly element: HTMLElement;
  /** Where the mode and model pickers go, left of Stop and Send. */
  readonly pickers: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly send: HTMLButtonElement;
  private readonly stop: HTMLButtonElement;
  private readonly list: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly attached = new Map<string, string>(); // label -> absolute path
  private candidates: MentionCandidate[] = [];
  private active = 0;
  private running = false;
  private reviewing = false;
  /** What was sent last, with its attachments, in case the host hands it back. */
  private lastSent?: { text: string; attached: Map<string, string> };
  private queryTimer?: ReturnType<typeof setTimeout>;

  constructor(private readonly post: Post) {
    this.input = h('textarea', { id: 'prompt', rows: 3, 'aria-label': 'Message Tether', placeholder: 'Ask Tether… (@ to attach a file, Enter to send, Shift+Enter for a new line)', 'aria-autocomplete': 'list', 'aria-controls': 'mentions' });
    this.send = h('button', { id: 'send', className: 'primary', title: 'Send (Enter)', onclick: () => this.submit() }, icon('send'), h('span', { className: 'label' }, ' Send'));
    this.stop = h('button', { id: 'stop', className: 'secondary', title: 'Stop the turn (Escape)', 'aria-label': 'Stop', onclick: () => this.post({ type: 'stop' }) }, icon('debug-stop'), h('span', { className: 'label' }, ' Stop'));
    this.list = h('ul', { id: 'mentions', role: 'listbox', className: 'mentions', 'aria-label': 'Files' });
    this.chips = h('div', { className: 'chips' });
    this.list.hidden = true;
    this.pickers = h('div', { className: 'pickers' });
    // One box, as in Copilot Chat: the text, then the pickers and the buttons along its bottom.
    this.element = h('footer', { className: 'composer' }, this.list, this.chips, h('div', { className: 'input-box' }, this.input, h('div', { className: 'composer-actions' }, this.pickers, this.stop, this.send)));
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('input', () => this.onInput());
    this.setRunning(false);
  }

  focus(): void {
    this.input.focus();
  }

  /** `reviewing`: the running turn is an Apply waiting for the user's review, which takes no
   * message; Stop withdraws the proposal. */
  setRunning(running: boolean, reviewing = false): void {
    this.running = running;
    this.reviewing = reviewing;
    this.stop.hidden = !running;
    this.send.disabled = reviewing;
    const steer = running && !reviewing;
    this.send.querySelector('.label')!.textContent = steer ? ' Steer' : ' Send';
    this.send.title = reviewing ? 'Accept or reject the proposed edit first' : steer ? 'Add this to the running turn (Enter)' : 'Send (Enter)';
    this.send.setAttribute('aria-label', steer ? 'Steer' : 'Send');
  }

  showCandidates(query: string, candidates: MentionCandidate[]): void {
    const current = mentionAt(this.input.value, this.input.selectionStart);
    if (!current || current.query !== query) return;
    this.candidates = candidates;
    this.active = 0;
    this.renderList();
  }

  private renderList(): void {
    this.list.hidden = this.candidates.length === 0;
    this.list.replaceChildren(
      ...this.candidates.map((c, i) => {
        const li = h('li', { role: 'option', id: `mention-${i}`, 'aria-selected': i === this.active ? 'true' : 'false', className: i === this.active ? 'active' : '' }, icon('file'), ` ${c.label}`);
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          this.pick(i);
        });
        return li;
      }),
    );
    if (this.candidates.length) this.input.setAttribute('aria-activedescendant', `mention-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  private closeList(): void {
    this.candidates = [];
    this.renderList();
  }

  private pick(index: number): void {
    const candidate = this.candidates[index];
    const mention = mentionAt(this.input.value, this.input.selectionStart);
    if (!candidate || !mention) return;
    const before = this.input.value.slice(0, mention.start);
    const after = this.input.value.slice(this.input.selectionStart);
    this.input.value = `${before}@${candidate.label} ${after}`;
    const caret = before.length + candidate.label.length + 2;
    this.input.setSelectionRange(caret, caret);
    this.attached.set(candidate.label, candidate.path);
    this.closeList();
    this.renderChips();
  }

  private renderChips(): void {
    const text = this.input.value;
    for (const label of [...this.attached.keys()]) if (!text.includes(`@${label}`)) this.attached.delete(label);
    this.chips.replaceChildren(...[...this.attached.keys()].map((label) => h('span', { className: 'chip', title: this.attached.get(label) }, icon('file'), ` ${label}`)));
  }

  private onInput(): void {
    this.renderChips();
    const mention = mentionAt(this.input.value, this.input.selectionStart);
    clearTimeout(this.queryTimer);
    if (!mention) {
      this.closeList();
      return;
    }
    this.queryTimer = setTimeout(() => this.post({ type: 'mentionQuery', query: mention.query }), 80);
  }

  private onKey(e: KeyboardEvent): void {
    if (this.candidates.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = this.candidates.length;
        this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.renderList();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        this.pick(this.active);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        this.closeList();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'Escape' && this.running) {
      e.preventDefault();
      this.post({ type: 'stop' });
    }
  }

  /** A message the host could not send (no model yet, the backend down) comes back to the box,
   * unless the user has started typing another one. */
  restore(text: string, files: string[]): void {
    if (this.input.value.trim()) return;
    this.input.value = text;
    this.attached.clear();
    const sent = this.lastSent;
    if (sent?.text === text) for (const [label, path] of sent.attached) if (files.includes(path)) this.attached.set(label, path);
    this.renderChips();
    this.input.focus();
    this.input.setSelectionRange(text.length, text.length);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text || this.reviewing) return;
    this.renderChips();
    this.post({ type: 'send', text, files: [...this.attached.values()] });
    this.lastSent = { text, attached: new Map(this.attached) };
    this.input.value = '';
    this.attached.clear();
    this.renderChips();
    this.closeList();
  }
}
